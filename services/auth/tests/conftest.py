import threading

import pytest

from services.auth import create_app
from services.kit.security import CREDENTIAL_HEADER
from services.kit.testing import build_app, from_service, truncate_all


@pytest.fixture(scope="session")
def app(database, jwt_keys):
    return build_app(
        create_app, "auth", database, jwt_keys, LOGIN_MAX_FAILURES=5, SESSION_CHECK=True
    )


@pytest.fixture
def client(app):
    """A client that calls as the gateway does: with its credential, which /auth/verify needs
    (test_verify_answers_only_the_gateway_and_the_services checks without it)."""
    truncate_all(app)
    tester = app.test_client()
    credential = from_service("gateway", "auth")[CREDENTIAL_HEADER]
    tester.environ_base["HTTP_X_SERVICE_CREDENTIAL"] = credential
    return tester


@pytest.fixture
def register(client):
    def _register(email="ana@example.com", password="s3nha-forte", name="Ana"):  # noqa: S107
        response = client.post(
            "/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.json
        return response.json

    return _register


@pytest.fixture
def login(client):
    def _login(email="ana@example.com", password="s3nha-forte"):  # noqa: S107
        response = client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.json
        return response.json

    return _login


@pytest.fixture
def admin(app, client):
    from services.auth.accounts import ensure_admin

    with app.app_context():
        ensure_admin("root@example.com", "root-password")
    response = client.post(
        "/auth/login", json={"email": "root@example.com", "password": "root-password"}
    )
    return response.json


@pytest.fixture
def changed_meanwhile(app, monkeypatch):
    """Arm with a change (a function of a test client answering a response): the next password
    check that matches is followed, before its sign-in (or PATCH /auth/me) goes on, by that change
    made and committed by another request in a thread of its own, as a change landing in argon2's
    time would be."""
    from services.auth import passwords

    compare = passwords.matches
    armed, answers = [], []

    def checked_then_changed(password_hash, password):
        matched = compare(password_hash, password)
        if matched and armed:
            change = armed.pop()
            changer = threading.Thread(target=lambda: answers.append(change(app.test_client())))
            changer.start()
            changer.join()
            assert answers[-1].status_code == 200, answers[-1].json
        return matched

    monkeypatch.setattr(passwords, "matches", checked_then_changed)
    return armed.append
