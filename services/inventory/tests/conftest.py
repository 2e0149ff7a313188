import json
import uuid

import pytest

from services.inventory import create_app
from services.kit.outbox import signature
from services.kit.testing import build_app, truncate_all

SECRET = "test-secret"


@pytest.fixture(scope="session")
def app(database, jwt_keys):
    return build_app(
        create_app,
        "inventory",
        database,
        jwt_keys,
        OUTBOX_SECRET=SECRET,
        OUTBOX_SUBSCRIBERS={},
        SERVICE_URLS={},
    )


@pytest.fixture
def client(app):
    truncate_all(app)
    return app.test_client()


def deliver(app, event_type: str, data: dict, event_id: str | None = None):
    """POST a signed event to the app's inbox, as a producer's relay would."""
    body = json.dumps(
        {"id": event_id or str(uuid.uuid4()), "type": event_type, "data": data}
    ).encode()
    return app.test_client().post(
        "/internal/events",
        data=body,
        headers={"X-Feira-Signature": signature(SECRET, body), "Content-Type": "application/json"},
    )


@pytest.fixture
def make_stock(app, client):
    """A product's stock row, made as products makes it: by `product.created`."""
    counter = iter(range(1, 10_000))

    def _make(initial_stock: int = 0, product_id: int | None = None) -> int:
        product_id = product_id or next(counter)
        data = {"product_id": product_id, "initial_stock": initial_stock}
        assert deliver(app, "product.created", data).json == {"status": "processed"}
        return product_id

    return _make
