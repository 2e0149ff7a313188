"""inventory: stock per product and its movement ledger, the reservations orders make, clients'
holdings, and the `stock.changed` event; it hears `product.created`, `product.deleted`,
`client.deleted`, `order.abandoned` and `order.delivered`."""

from __future__ import annotations

from flask import Flask

from services.kit import create_service_app
from services.kit.outbox import init_outbox

from .models import db, outbox


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "inventory",
        __name__,
        db=db,
        config=config,
        description="Stock per product (on hand, reserved, available, reorder level), its "
        "movement ledger, clients' holdings, and the internal reservations API of orders.",
    )
    init_outbox(app, outbox)
    from . import holdings, reservations, stock
    from .routes import blp, recording_movement, reservations_blp

    def forget_expired_keys():
        recording_movement.forget_expired()
        db.session.commit()

    # The relay is the service's one background process: it also forgets Idempotency-Keys
    # older than a day.
    outbox.every(3600, forget_expired_keys)

    outbox.receiver(
        app,
        {
            "product.created": stock.on_product_created,
            "product.deleted": stock.on_product_deleted,
            "client.deleted": holdings.on_client_deleted,
            "order.abandoned": reservations.on_order_abandoned,
            "order.delivered": holdings.on_order_delivered,
        },
    )
    api.register_blueprint(blp)
    api.register_blueprint(reservations_blp)
    return app
