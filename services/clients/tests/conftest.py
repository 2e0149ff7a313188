import pytest

from services.clients import create_app
from services.kit.testing import build_app, truncate_all

VALID_CPFS = ["454.090.000-56", "123.456.789-09", "529.982.247-25", "111.444.777-35"]


@pytest.fixture(scope="session")
def app(database, jwt_keys):
    return build_app(
        create_app,
        "clients",
        database,
        jwt_keys,
    )


@pytest.fixture
def client(app):
    truncate_all(app)
    return app.test_client()


@pytest.fixture
def make_client(client, user):
    counter = iter(range(1000))

    def _make(**fields):
        n = next(counter)
        body = {"name": f"Cliente {n}", "email": f"c{n}@example.com", "cpf": VALID_CPFS[n % 4]}
        body.update(fields)
        response = client.post("/clients", json=body, headers=user)
        assert response.status_code == 201, response.json
        return response.json

    return _make
