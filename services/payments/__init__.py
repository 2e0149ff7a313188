"""payments: orders paid by card or PIX through a payment provider that speaks Stripe's protocol
(real Stripe, or the local stand-in), its signed webhooks, refunds and reconciliation; it emits
`payment.succeeded`, `payment.failed`, `payment.refunded` and `payment.expired`, and hears
orders' `order.cancelled` (a paid order's payment is refunded), `order.updated` (a payment for
the old total is let go) and `order.paid` (every other open payment of the order is let go)."""

from __future__ import annotations

import logging

from flask import Flask

from services.kit import create_service_app
from services.kit.outbox import init_outbox
from services.kit.settings import env

from .models import db, outbox


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "payments",
        __name__,
        db=db,
        config=config,
        settings={
            "PAYMENTS_PROVIDER_URL": env("PAYMENTS_PROVIDER_URL") or "https://api.stripe.com",
            "PAYMENTS_PROVIDER_SECRET_KEY": env("PAYMENTS_PROVIDER_SECRET_KEY"),
            "PAYMENTS_WEBHOOK_SECRET": env("PAYMENTS_WEBHOOK_SECRET"),
            "PAYMENTS_PROVIDER_TIMEOUT": env("PAYMENTS_PROVIDER_TIMEOUT", 10, float),
            "PAYMENTS_PROVIDER_RETRIES": env("PAYMENTS_PROVIDER_RETRIES", 1, int),
            "PIX_EXPIRES_S": env("PIX_EXPIRES_S", 900, int),
            "PAYMENTS_RECONCILE_INTERVAL_S": env("PAYMENTS_RECONCILE_INTERVAL_S", 30, float),
            "PAYMENTS_RECONCILE_AFTER_S": env("PAYMENTS_RECONCILE_AFTER_S", 120, float),
        },
        description="Payments: an order's total charged by card or PIX through a provider that "
        "speaks Stripe's protocol; its signed webhooks; refunds; reconciliation.",
    )
    init_outbox(app, outbox)
    # At INFO the SDK logs each request and the provider's error messages, which quote what was
    # sent; our own lines (provider.py) say what happened without it.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    from . import payments
    from .routes import blp, paying, refunding

    outbox.receiver(
        app,
        {
            "order.cancelled": payments.on_order_cancelled,
            "order.updated": payments.on_order_updated,
            "order.paid": payments.on_order_paid,
        },
    )

    def chores():
        payments.reconcile()
        paying.forget_expired()
        refunding.forget_expired()
        db.session.commit()

    # The relay is the service's one background process: it also asks the provider about
    # payments whose webhook never came, and cancels PIX nobody paid in time.
    outbox.every(app.config["PAYMENTS_RECONCILE_INTERVAL_S"], chores)

    @app.cli.command("reconcile")
    def reconcile_command():
        """Ask the provider about unsettled payments now (once), and forget stale keys."""
        chores()

    api.register_blueprint(blp)
    return app
