"""The one place that speaks to the payment provider: Stripe's protocol through the official
`stripe` SDK, at `PAYMENTS_PROVIDER_URL` (real Stripe, or the local stand-in) with
`PAYMENTS_PROVIDER_SECRET_KEY`.

- Every call that changes something carries an idempotency key derived from Feira's own ids
  (`payment-<id>-<nonce>`, `cancel-<id>-<nonce>`, `refund-<payment id>-<nonce>-<n>`; the
  nonce is the payment's, fixed when its row is written), so a retry (after a timeout, a
  crash, a redelivered event) is answered the first answer and never charges or refunds twice.
- What comes back is plain dicts (Stripe's JSON objects).
- The provider unreachable, failing (5xx), refusing our key or throttling us is `Unavailable`
  (a 503 problem); a card decline is `Declined` with the PaymentIntent the provider reports and
  its code (`failure_code`); a request it refuses is `Refused` (the caller makes it a 409 or a
  422 naming the field), `Missing` when what it was asked about is unknown to it.
- Nothing secret is logged: not the key, not a client_secret, not a signature; only the error's
  type and code. The SDK's own logger (`stripe`) is held at WARNING by the app: at INFO it logs
  every request and the provider's error messages, which may quote what was sent.
- A webhook is believed only with a `Stripe-Signature` over its raw body, made at most 300 s
  before or after now, and only then parsed: a JSON object, nested no deeper than any body Feira
  takes.
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

import stripe
from flask import current_app

from services.kit import Unavailable
from services.kit.web import TooDeep, shallow_json

log = logging.getLogger("feira.payments")
CENT = Decimal("0.01")
# Stripe holds a PIX code 10 s at the least; a shorter PIX_EXPIRES_S is Feira's own, enforced by
# reconciliation (it cancels the code at the provider).
PIX_SHORTEST_S = 10
# How far from now a webhook's signature may be dated, either way.
WEBHOOK_TOLERANCE_S = 300
# More centavos than an amount column (12 digits, 2 of them decimals) holds.
TOO_MANY_CENTS = 10**12


class Declined(Exception):
    """The provider declined the card: `intent` is the PaymentIntent it reports (its status
    `requires_payment_method`), `reason` its message, `code` why (`failure_code`)."""

    def __init__(self, intent: dict | None, reason: str, code: str | None = None):
        super().__init__(reason)
        self.intent, self.reason, self.code = intent, reason, code


class Refused(Exception):
    """The provider refused the request (4xx): `kind` (Stripe's error type), `code` and `param`
    as Stripe names them, and `intent`, the PaymentIntent it reports, if the refusal came after
    one was made (None: the request itself was refused, nothing was made)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str | None,
        param: str | None,
        kind: str | None = None,
        intent: dict | None = None,
    ):
        super().__init__(message)
        self.message, self.status, self.code, self.param = message, status, code, param
        self.kind, self.intent = kind, intent

    @property
    def nothing_made(self) -> bool:
        """The provider found the request itself invalid (an unknown payment method, an amount
        it does not take) and made no PaymentIntent: nothing was charged."""
        return self.kind == "invalid_request_error" and not self.intent


class Missing(Refused):
    """The provider does not know the object asked about (404 `resource_missing`): for a
    PaymentIntent of ours, its state was lost (the stand-in's is in memory, gone on a restart)
    or the key is now another mode's or account's (test, live)."""


def failure_code(error) -> str | None:
    """Why a payment failed, as a machine reads it: the error's `decline_code` (the issuer's
    reason: insufficient_funds, expired_card, …) when it has one, else its `code` (card_declined,
    incorrect_cvc, …), as Stripe means them to be read; None when it has neither."""
    if not isinstance(error, dict):
        return None
    for name in ("decline_code", "code"):
        if isinstance(error.get(name), str) and error[name]:
            return error[name]
    return None


def cents(amount: Decimal) -> int:
    """Reais to integer centavos, exactly: an amount with fractions of a centavo is refused."""
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} is not a whole number of centavos")
    return int(amount * 100)


def reais(value: int) -> Decimal:
    """Integer centavos to reais; ValueError for anything an amount of ours cannot be: the
    provider sends JSON integers, so a float (1999.9 cut to 1999), a string or a boolean (True
    as 1) is refused, not read as centavos."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("centavos are a JSON integer")
    centavos = value
    if abs(centavos) >= TOO_MANY_CENTS:
        raise ValueError("more centavos than any amount holds")
    return (Decimal(centavos) / 100).quantize(CENT)


def plain(obj) -> dict:
    """A Stripe object as the plain JSON it came as."""
    if obj is None:
        return {}
    if isinstance(obj, dict) and not isinstance(obj, stripe.StripeObject):
        return obj
    return json.loads(str(obj))


def _client() -> stripe.StripeClient:
    extensions = current_app.extensions
    if "payments.provider" not in extensions:
        config = current_app.config
        key = config["PAYMENTS_PROVIDER_SECRET_KEY"]
        if not key:
            raise Unavailable("The payment provider is not configured")
        timeout = config["PAYMENTS_PROVIDER_TIMEOUT"]
        extensions["payments.provider"] = stripe.StripeClient(
            key,
            base_addresses={"api": config["PAYMENTS_PROVIDER_URL"].rstrip("/")},
            # Safe: every write carries its idempotency key.
            max_network_retries=config["PAYMENTS_PROVIDER_RETRIES"],
            http_client=stripe.RequestsClient(timeout=(min(timeout, 3.0), timeout)),
        )
    return extensions["payments.provider"]


def _call(what: str, request):
    try:
        return plain(request())
    except stripe.CardError as exc:
        body = (exc.json_body or {}).get("error") or {}
        log.info("provider declined %s: %s %s", what, exc.code, body.get("decline_code"))
        raise Declined(
            body.get("payment_intent"), body.get("message") or "Declined", failure_code(body)
        ) from exc
    except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
        log.warning("provider unavailable for %s: %s", what, type(exc).__name__)
        raise Unavailable("The payment provider cannot be reached") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        log.error("provider refused our credentials for %s: %s", what, type(exc).__name__)
        raise Unavailable("The payment provider refused Feira's credentials") from exc
    except stripe.StripeError as exc:
        if exc.http_status == 409:
            # The same idempotency key is being answered right now (a request and
            # reconciliation at once): nothing is known yet; asked again later.
            log.info("provider is still handling %s", what)
            raise Unavailable("The payment provider is still handling this request") from exc
        body = (exc.json_body or {}).get("error") or {}
        message = body.get("message") or "The payment provider refused the request"
        log.info("provider refused %s: %s %s", what, exc.http_status, exc.code)
        intent = body.get("payment_intent")
        refusal = Missing if exc.http_status == 404 and exc.code == "resource_missing" else Refused
        raise refusal(
            message,
            status=exc.http_status,
            code=exc.code,
            param=body.get("param"),
            kind=body.get("type"),
            intent=intent if isinstance(intent, dict) else None,
        ) from exc


def create_intent(payment, *, confirm: bool = True) -> dict:
    """Confirm a PaymentIntent for the payment at once: a card is charged (or declined, also
    when its bank asks for authentication), a PIX gets its BR Code. The key is the payment's:
    asked again (a retry, reconciliation), the provider answers the same PaymentIntent.

    Not `confirm`: the same request, unconfirmed (nothing is charged, no code is shown), under
    the same key. The provider keeps a key's first request and refuses the other form of it
    (`idempotency_error`): whichever form it heard first is the only one it ever executes."""
    params = {
        "amount": cents(payment.amount),
        "currency": payment.currency.lower(),
        "payment_method_types": [payment.method],
        "confirm": confirm,
        "metadata": {"order_id": str(payment.order_id), "payment_id": str(payment.id)},
    }
    if payment.method == "card":
        params["payment_method"] = payment.payment_method
        if confirm:
            # Feira offers no 3-D Secure step: a card whose bank asks for one is declined at
            # once (`authentication_required`) instead of waiting in requires_action for it
            # (the provider takes this only with `confirm`).
            params["error_on_requires_action"] = True
    else:
        params["payment_method_data"] = {"type": "pix"}
        params["payment_method_options"] = {
            "pix": {
                "expires_after_seconds": max(PIX_SHORTEST_S, current_app.config["PIX_EXPIRES_S"])
            }
        }
    return _call(
        f"payment {payment.id}",
        lambda: _client().v1.payment_intents.create(
            params=params, options={"idempotency_key": f"payment-{payment.id}-{payment.nonce}"}
        ),
    )


def retrieve_intent(ref: str) -> dict:
    return _call(f"intent {ref}", lambda: _client().v1.payment_intents.retrieve(ref))


def cancel_intent(payment) -> dict:
    return _call(
        f"cancel of payment {payment.id}",
        lambda: _client().v1.payment_intents.cancel(
            payment.provider_ref,
            options={"idempotency_key": f"cancel-{payment.id}-{payment.nonce}"},
        ),
    )


def refund(payment, n: int, amount: Decimal) -> dict:
    """The payment's n-th refund: asked again with the same n and amount, the provider answers
    the same refund."""
    return _call(
        f"refund {n} of payment {payment.id}",
        lambda: _client().v1.refunds.create(
            params={"payment_intent": payment.provider_ref, "amount": cents(amount)},
            options={"idempotency_key": f"refund-{payment.id}-{payment.nonce}-{n}"},
        ),
    )


def retrieve_refund(ref: str) -> dict:
    """A Refund as the provider reports it now (reconciliation: its events may all be lost)."""
    return _call(f"refund {ref}", lambda: _client().v1.refunds.retrieve(ref))


def verified_event(payload: bytes, header: str | None) -> dict:
    """The webhook's event, if its `Stripe-Signature` is the provider's over this raw body and
    made at most 300 s from now (the SDK refuses only an old one), and the body a JSON object
    with a string `id` and `type`; ValueError otherwise (the reason, never the signature)."""
    secret = current_app.config["PAYMENTS_WEBHOOK_SECRET"]
    if not secret:
        log.error("PAYMENTS_WEBHOOK_SECRET is not set: every webhook is refused")
        raise ValueError("Webhooks are not configured")
    if not header:
        raise ValueError("The Stripe-Signature header is missing")
    stale = "The Stripe-Signature does not match the body, or is too old or from the future"
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, WEBHOOK_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        raise ValueError(stale) from exc
    except ValueError as exc:
        raise ValueError("The body is not a provider event") from exc
    if _signed_at(header) > time.time() + WEBHOOK_TOLERANCE_S:
        raise ValueError(stale)
    try:
        event = shallow_json(payload)
    except TooDeep as exc:
        raise ValueError(f"The body {exc}") from None
    except ValueError as exc:
        raise ValueError("The body is not a provider event") from exc
    if not isinstance(event, dict) or not all(
        isinstance(event.get(name), str) for name in ("id", "type")
    ):
        raise ValueError("The body is not a provider event")
    return event


def _signed_at(header: str) -> int:
    """The `t=` of a header the SDK has verified, read as the SDK reads it."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))
