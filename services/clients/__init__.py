"""clients: the people who buy, their addresses, and the `client.deleted` event."""

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
        description="Clients (CPF-checked, unique email and CPF) and their addresses.",
    )
    init_outbox(app, outbox)
    from .routes import blp

    api.register_blueprint(blp)
    return app
