"""orders: orders that reserve stock in inventory, idempotent by Idempotency-Key, their status
workflow and the sales report; it emits `order.delivered`, `order.abandoned` and
`order.cancelled`, hears the `client.*`, `address.*` and `product.*` events that keep its read
model (known.py), and payments' `payment.succeeded`, `payment.expired` and `payment.refunded`
(payments.py)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from services.kit import create_service_app
from services.kit.outbox import init_outbox
from services.kit.settings import env

from .models import db, outbox


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "orders",
        __name__,
        db=db,
        config=config,
        settings={"SWEEP_GRACE_SECONDS": env("SWEEP_GRACE_SECONDS", 60, float)},
        description="Orders: the client and products checked, prices copied, stock reserved in "
        "inventory; Idempotency-Key, the status workflow, and sales reports.",
    )
    init_outbox(app, outbox)
    from . import known, orders, payments
    from .routes import blp

    outbox.receiver(
        app,
        {
            "client.created": known.on_client_created,
            "client.deleted": known.on_client_deleted,
            "address.created": known.on_address_saved,
            "address.updated": known.on_address_saved,
            "address.deleted": known.on_address_deleted,
            "product.created": known.on_product_saved,
            "product.updated": known.on_product_saved,
            "product.deleted": known.on_product_deleted,
            "payment.succeeded": payments.on_payment_succeeded,
            "payment.expired": payments.on_payment_expired,
            "payment.refunded": payments.on_payment_refunded,
        },
    )

    grace = timedelta(seconds=app.config["SWEEP_GRACE_SECONDS"])
    # The relay is the service's one background process: it also sweeps orders that never
    # became pending, so no reservation outlives a failed creation for long.
    outbox.every(grace.total_seconds() / 2, lambda: orders.sweep(grace))

    @app.cli.command("sweep")
    def sweep_command():
        """Release and forget orders that never became pending (once), and stale keys."""
        orders.sweep(grace)

    api.register_blueprint(blp)
    return app
