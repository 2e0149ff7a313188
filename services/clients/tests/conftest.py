from contextlib import contextmanager

import pytest
from sqlalchemy import delete, event
from sqlalchemy.orm import Session

from services.clients import create_app
from services.clients.models import Client, db
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


@contextmanager
def deletion_held(app, client_id: int):
    """A DELETE of the client on a connection of its own, uncommitted (its row lock held), for
    kit.testing.answered_behind to commit once a request waits for it; left uncommitted, it is
    rolled back when the block ends."""
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(delete(Client).where(Client.id == client_id))
        yield holder


@contextmanager
def deleted_after_the_first_commit(app, client_id: int):
    """The client is deleted (from a connection of its own) as soon as the first commit of the
    block has happened: what a DELETE committing in the instant after a request's does."""
    done = []

    def delete_it(session):
        if not done:
            done.append(True)
            with db.engine.begin() as connection:
                connection.execute(delete(Client).where(Client.id == client_id))

    event.listen(Session, "after_commit", delete_it)
    try:
        with app.app_context():
            yield
    finally:
        event.remove(Session, "after_commit", delete_it)
