"""A stand-in for Stripe: the part of its API Feira's payments service uses, over real HTTP, so
the official `stripe` SDK works against it unchanged. Test infrastructure (see `standins`).

Run by the stack as the supervisord program `stripe-standin` (one gunicorn worker: the state is
in memory) on 127.0.0.1:`STRIPE_STANDIN_PORT`, never behind the gateway. Settings:
`PAYMENTS_PROVIDER_SECRET_KEY` (the one API key it accepts, `Authorization: Bearer sk_...`),
`PAYMENTS_WEBHOOK_SECRET` (signs the webhooks), `STRIPE_STANDIN_WEBHOOK_URL` (where it POSTs
them; empty: recorded, not sent), `STRIPE_STANDIN_PIX_KEY` (the merchant key in PIX codes).

Stripe's API (form-encoded, `Idempotency-Key` replays, Stripe's error objects):
    POST /v1/payment_intents              card: pm_card_visa succeeds at once,
                                          pm_card_chargeDeclined answers 402 card_declined,
                                          pm_card_refundFail succeeds, and its refunds are
                                          made `pending`, then fail (below);
                                          pix + confirm: requires_action with a BR Code
    GET  /v1/payment_intents/{id}
    POST /v1/payment_intents/{id}/cancel
    POST /v1/refunds                      payment_intent (or charge), amount? (default: the rest)
    GET  /v1/refunds/{id}, GET /v1/charges/{id}
Webhooks: the events `payment_intent.succeeded`, `.payment_failed`, `.canceled`,
`charge.refunded` (a refund made), and for a refund that failed `charge.refund.updated`,
`refund.updated` and `refund.failed`, in that order, each carrying the Refund (only those),
JSON with `Stripe-Signature: t=...,v1=...`, each tried again up to 3 times (0.5 s, 1 s, 2 s
later) while the endpoint answers no 2xx.

Test-only routes (JSON; no API key):
    GET  /_standin/health                         200 when up
    POST /_standin/payment_intents/{id}/pay       {"amount_received"?: int}: the PIX payer pays
                                                  (refused once the code expired); sends
                                                  payment_intent.succeeded
    GET  /_standin/payment_intents/{id}/pix       the copia-e-cola code (hosted_instructions_url)
    POST /_standin/refunds/{id}/fail              a pending refund (of a pm_card_refundFail
                                                  charge) fails, as Stripe's does on its own
                                                  a while later: status `failed`, failure_reason
                                                  `expired_or_canceled_card`, the charge's
                                                  amount_refunded back down; sends
                                                  charge.refund.updated, refund.updated and
                                                  refund.failed (the Refund). The stand-in
                                                  never fails one by itself: tests say when
    POST /_standin/refunds/fail_next              {"count": n}: the next n refunds made (of any
                                                  charge) are answered `failed` at once,
                                                  failure_reason `expired_or_canceled_card`,
                                                  the charge's amount_refunded unchanged; sends
                                                  charge.refund.updated, refund.updated and
                                                  refund.failed (the Refund), not
                                                  charge.refunded
    POST /_standin/webhooks/drop                  {"count": n}: the next n events are recorded,
                                                  not delivered (lost webhooks)
    GET  /_standin/events?payment_intent=pi_...   {"data": [{id, type, delivered, attempts,
                                                  last_status, event}, ...]}, newest first
    POST /_standin/events/{id}/resend             {"age_s"?: int}: that event again, signed
                                                  age_s seconds ago -> {"status": <endpoint's>}
    POST /_standin/events                         {"type", "payment_intent"}: a new event with
                                                  the PaymentIntent's status set to what the
                                                  type implies (out of order) -> {event, status}
"""

from __future__ import annotations

import logging
import os

from flask import Flask

from . import api
from .state import Store
from .webhooks import Dispatcher


def create_app(config: dict | None = None) -> Flask:
    settings = {**os.environ, **(config or {})}
    secret_key = settings.get("PAYMENTS_PROVIDER_SECRET_KEY", "")
    webhook_secret = settings.get("PAYMENTS_WEBHOOK_SECRET", "")
    if not secret_key.startswith("sk_") or not webhook_secret.startswith("whsec_"):
        raise RuntimeError(
            "the Stripe stand-in needs PAYMENTS_PROVIDER_SECRET_KEY (sk_...) and "
            "PAYMENTS_WEBHOOK_SECRET (whsec_...)"
        )
    app = Flask("standins.stripe")
    app.config["STRIPE_SECRET_KEY"] = secret_key
    port = settings.get("STRIPE_STANDIN_PORT", "5090")
    base_url = settings.get("STRIPE_STANDIN_BASE_URL") or f"http://127.0.0.1:{port}"
    store = Store(
        pix_key=settings.get("STRIPE_STANDIN_PIX_KEY") or "pix@feira.local", base_url=base_url
    )
    app.extensions["stripe_store"] = store
    app.extensions["stripe_webhooks"] = Dispatcher(
        webhook_secret, settings.get("STRIPE_STANDIN_WEBHOOK_URL"), store.attempted
    )
    api.register(app)
    if not logging.getLogger().handlers:  # under gunicorn: its stderr, which supervisord logs
        logging.basicConfig(level=settings.get("LOG_LEVEL", "INFO").upper())
    return app
