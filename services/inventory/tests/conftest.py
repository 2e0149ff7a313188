import pytest

from services.inventory import create_app
from services.kit.testing import (
    access_token,
    bearer,
    build_app,
    deliver,
    from_service,
    truncate_all,
)


@pytest.fixture(scope="session")
def app(database, jwt_keys):
    return build_app(
        create_app,
        "inventory",
        database,
        jwt_keys,
    )


@pytest.fixture
def user(jwt_keys):
    """A signed-in user's headers as orders sends them to inventory: with orders' service
    credential, which the reservations routes need (test_internal_credentials checks both)."""
    return from_service("orders", "inventory", bearer(access_token(jwt_keys, 10, "user")))


@pytest.fixture
def admin(jwt_keys):
    return from_service("orders", "inventory", bearer(access_token(jwt_keys, 1, "admin")))


@pytest.fixture
def client(app):
    truncate_all(app)
    return app.test_client()


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
