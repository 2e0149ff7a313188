"""clients: the people who buy, their addresses and favorite products, and the `client.deleted`
event; it hears `product.deleted` to forget deleted products."""

from __future__ import annotations

from flask import Flask

from services.kit import create_service_app
from services.kit.outbox import init_outbox

from .models import db, outbox


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "clients",
        __name__,
        db=db,
        config=config,
        description="Clients (CPF-checked, unique email and CPF), their addresses and favorites.",
    )
    init_outbox(app, outbox)
    from . import favorites
    from .routes import adding_address, blp, registering_client

    outbox.receiver(app, {"product.deleted": favorites.on_product_deleted})

    def forget_expired_keys():
        adding_address.forget_expired()
        registering_client.forget_expired()
        db.session.commit()

    # The relay is the service's one background process: it also forgets Idempotency-Keys
    # older than a day.
    outbox.every(3600, forget_expired_keys)
    api.register_blueprint(blp)
    return app
