"""The one place that speaks to the payment provider: Stripe's protocol through the official
`stripe` SDK, at `PAYMENTS_PROVIDER_URL` (real Stripe, or the local stand-in) with
`PAYMENTS_PROVIDER_SECRET_KEY`.

- Every call that changes something carries an idempotency key derived from Feira's own ids
  (`payment-<id>-<nonce>`, `cancel-<id>-<nonce>`, `refund-<payment id>-<nonce>-<n>`; the
  nonce is the payment's, fixed when its row is written), so a retry (after a timeout, a
  crash, a redelivered event) is answered the first answer and never charges or refunds twice.
- What comes back is plain dicts (Stripe's JSON objects).
- The provider unreachable, failing (5xx), refusing our key or throttling us is `Unavailable`
  (a 503 problem); a card decline is `Declined` with the PaymentIntent the provider reports; a
  request it refuses is `Refused` (the caller makes it a 409 or a 422 naming the field).
- Nothing secret is logged: not the key, not a client_secret, not a signature; only the error's
  type and code.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import stripe
from flask import current_app

from services.kit import Unavailable

log = logging.getLogger("feira.payments")
CENT = Decimal("0.01")
# Stripe holds a PIX code 10 s at the least; a shorter PIX_EXPIRES_S is Feira's own, enforced by
# reconciliation (it cancels the code at the provider).
PIX_SHORTEST_S = 10


class Declined(Exception):
    """The provider declined the card: `intent` is the PaymentIntent it reports (its status
    `requires_payment_method`), `reason` its message."""

    def __init__(self, intent: dict | None, reason: str):
        super().__init__(reason)
        self.intent, self.reason = intent, reason


class Refused(Exception):
    """The provider refused the request (4xx): `code` and `param` as Stripe names them."""

    def __init__(self, message: str, *, status: int | None, code: str | None, param: str | None):
        super().__init__(message)
        self.message, self.status, self.code, self.param = message, status, code, param


def cents(amount: Decimal) -> int:
    """Reais to integer centavos, exactly: an amount with fractions of a centavo is refused."""
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} is not a whole number of centavos")
    return int(amount * 100)


def reais(value: int) -> Decimal:
    return (Decimal(int(value)) / 100).quantize(CENT)


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
        raise Declined(body.get("payment_intent"), body.get("message") or "Declined") from exc
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
        raise Refused(
            message, status=exc.http_status, code=exc.code, param=body.get("param")
        ) from exc


def create_intent(payment) -> dict:
    """Confirm a PaymentIntent for the payment at once: a card is charged, a PIX gets its BR
    Code. The key is the payment's: asked again (a retry, reconciliation), the provider answers
    the same PaymentIntent."""
    params = {
        "amount": cents(payment.amount),
        "currency": payment.currency.lower(),
        "payment_method_types": [payment.method],
        "confirm": True,
        "metadata": {"order_id": str(payment.order_id), "payment_id": str(payment.id)},
    }
    if payment.method == "card":
        params["payment_method"] = payment.payment_method
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


def verified_event(payload: bytes, header: str | None) -> dict:
    """The webhook's event, if its `Stripe-Signature` is the provider's over this raw body and
    at most 300 s old; ValueError otherwise (the reason, never the signature)."""
    secret = current_app.config["PAYMENTS_WEBHOOK_SECRET"]
    if not secret:
        log.error("PAYMENTS_WEBHOOK_SECRET is not set: every webhook is refused")
        raise ValueError("Webhooks are not configured")
    if not header:
        raise ValueError("The Stripe-Signature header is missing")
    try:
        event = stripe.Webhook.construct_event(payload, header, secret, tolerance=300)
    except stripe.SignatureVerificationError as exc:
        raise ValueError("The Stripe-Signature does not match the body, or is too old") from exc
    except ValueError as exc:
        raise ValueError("The body is not a provider event") from exc
    event = plain(event)
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise ValueError("The body is not a provider event")
    return event
