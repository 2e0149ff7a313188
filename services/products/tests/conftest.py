import pytest

from services.kit.testing import build_app, truncate_all
from services.products import create_app
from services.products.ean import check_digit


def barcode(n: int) -> str:
    """A valid EAN-13 (Brazilian prefix 789) for the n-th test product."""
    first_twelve = f"789{n:09d}"
    return first_twelve + check_digit(first_twelve)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def app(database, jwt_keys, media_dir):
    return build_app(
        create_app,
        "products",
        database,
        jwt_keys,
        MEDIA_DIR=str(media_dir),
        MAX_CONTENT_LENGTH=64 * 1024,
        IMAGE_MAX_BYTES=256 * 1024,
    )


@pytest.fixture
def client(app):
    truncate_all(app)
    return app.test_client()


@pytest.fixture
def make_category(client, admin):
    counter = iter(range(1000))

    def _make(**fields):
        body = {"name": f"Categoria {next(counter)}", **fields}
        response = client.post("/categories", json=body, headers=admin)
        assert response.status_code == 201, response.json
        return response.json

    return _make


@pytest.fixture
def make_product(client, admin):
    counter = iter(range(1, 1000))

    def _make(**fields):
        n = next(counter)
        body = {"name": f"Produto {n}", "price": "10.00", "barcode": barcode(n), **fields}
        response = client.post("/products", json=body, headers=admin)
        assert response.status_code == 201, response.json
        return response.json

    return _make
