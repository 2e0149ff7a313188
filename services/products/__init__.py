"""products: the catalogue (categories, products, pictures), its search and import, and the
`product.created`, `product.updated` and `product.deleted` events; it keeps inventory's stock
figure as a read model, and orders' units sold (`order.paid`, `order.cancelled`) for the
`popularity` sort."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.kit import create_service_app
from services.kit.outbox import init_outbox
from services.kit.settings import env

from .models import db, outbox


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "products",
        __name__,
        db=db,
        config=config,
        settings={
            # Where pictures are written; the gateway serves this directory at /media/.
            "MEDIA_DIR": env("MEDIA_DIR", str(Path(env("FEIRA_RUN_DIR", ".run")) / "media")),
            "IMAGE_MAX_BYTES": env("IMAGE_MAX_BYTES", 5 * 1024 * 1024, int),
            # Pictures one product may hold: every read of it lists them all.
            "IMAGE_MAX_PER_PRODUCT": env("IMAGE_MAX_PER_PRODUCT", 10, int),
        },
        description="The catalogue: categories, products (EAN-13, unique name and barcode), "
        "pictures, search (`q`, Portuguese stems) and a bulk import by barcode.",
    )
    init_outbox(app, outbox)
    from . import catalogue, sales
    from .collected import collected_blp
    from .routes import blp, categories_blp, creating_category

    outbox.receiver(
        app,
        {
            "stock.changed": catalogue.apply_stock_change,
            "order.paid": sales.on_order_paid,
            "order.cancelled": sales.on_order_cancelled,
        },
    )

    def forget_expired_keys():
        creating_category.forget_expired()
        db.session.commit()

    # The relay is the service's one background process: it also forgets Idempotency-Keys
    # older than a day.
    outbox.every(3600, forget_expired_keys)
    api.register_blueprint(categories_blp)
    api.register_blueprint(blp)
    api.register_blueprint(collected_blp)
    return app
