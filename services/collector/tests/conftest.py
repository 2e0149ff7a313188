"""The collector suite runs against the REAL products service (its internal door, with the
collector's service credential) and the fixture shops, each over real HTTP on a local port, all
on the test database."""

import pytest

from services.collector import create_app
from services.kit.testing import LiveServer, build_app, truncate_all
from services.products import create_app as create_products_app
from standins.shops.testing import running_shops


@pytest.fixture(scope="session")
def shops():
    with running_shops(slow_s=1.5, big_count=30) as running:
        yield running


@pytest.fixture(scope="session")
def products_app(database, jwt_keys, tmp_path_factory):
    media = str(tmp_path_factory.mktemp("collector-media"))
    return build_app(create_products_app, "products", database, jwt_keys, MEDIA_DIR=media)


@pytest.fixture(scope="session")
def products(products_app):
    server = LiveServer(products_app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(database, jwt_keys, products):
    return build_app(
        create_app,
        "collector",
        database,
        jwt_keys,
        SERVICE_URLS={"products": products.base_url},
        COLLECTOR_ALLOWED_PRIVATE_HOSTS=["127.0.0.1"],
        COLLECTOR_CONTACT_URL="https://feira.test/coletor",
        COLLECTOR_READ_TIMEOUT_S=0.5,
        HTTP_RETRIES=0,
    )


@pytest.fixture
def client(app, products_app, shops):
    truncate_all(app)
    truncate_all(products_app)
    shops.forget()
    return app.test_client()
