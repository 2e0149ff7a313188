"""Every service refuses what the gateway refuses: products, served beside the real auth over HTTP,
stops taking a logged-out, deactivated or demoted user's token within the same 5 seconds."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from services.kit.security import ASSERTION_HEADER, ASSERTION_TYPE, token_digest
from services.kit.testing import (
    LiveServer,
    bearer,
    build_app,
    signed,
    truncate_all,
    unreachable_url,
)
from services.products import create_app as create_products_app

SESSION_SECONDS = 5


@pytest.fixture(scope="module")
def served_auth(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


def _products(database, jwt_keys, media, auth_url):
    return build_app(
        create_products_app,
        "products",
        database,
        jwt_keys,
        MEDIA_DIR=media,
        SESSION_CHECK=True,
        SERVICE_URLS={"auth": auth_url},
        HTTP_RETRIES=0,
    )


@pytest.fixture(scope="module")
def products(database, jwt_keys, tmp_path_factory, served_auth):
    media = str(tmp_path_factory.mktemp("media"))
    return _products(database, jwt_keys, media, served_auth.base_url)


@pytest.fixture(scope="module")
def products_without_auth(database, jwt_keys, tmp_path_factory):
    """products whose auth is down: it can only accept what an assertion vouches for."""
    media = str(tmp_path_factory.mktemp("media"))
    return _products(database, jwt_keys, media, unreachable_url())


@pytest.fixture
def catalogue(products, client):
    truncate_all(products)
    return products.test_client()


def signed_in(client, register, login, email="ana@example.com"):
    register(email=email)
    return login(email=email)


def last_served(request, cached_at: float, served=200) -> float:
    """Polls `request()` until it answers 401: how long after `cached_at` (time.monotonic(),
    taken once the request that had the session checked returned) the last request still served
    was sent, 0 if none was. The check's verdict was kept by then, so a service that keeps it
    SESSION_SECONDS serves none sent later, however slow the machine. Fails if it is answered
    otherwise than `served`, or still served past SESSION_SECONDS + 1."""
    sent = 0.0
    while True:
        before = time.monotonic() - cached_at
        response = request()
        if response.status_code == 401:
            assert response.mimetype == "application/problem+json"
            return sent
        assert response.status_code == served, response.json
        sent = before
        assert sent < SESSION_SECONDS + 1, "the revoked token is still accepted"
        time.sleep(0.2)


def test_a_logged_out_token_is_refused_directly_by_a_service_within_5_seconds(
    client, catalogue, register, login
):
    headers = bearer(signed_in(client, register, login)["access_token"])
    assert catalogue.get("/categories", headers=headers).status_code == 200
    cached_at = time.monotonic()
    assert client.post("/auth/logout", headers=headers).status_code == 204
    polled = last_served(lambda: catalogue.get("/categories", headers=headers), cached_at)
    assert polled < SESSION_SECONDS


def test_a_token_first_seen_after_logout_is_refused_at_once(client, catalogue, register, login):
    headers = bearer(signed_in(client, register, login)["access_token"])
    client.post("/auth/logout", headers=headers)
    response = catalogue.get("/categories", headers=headers)
    assert response.status_code == 401
    assert response.json["detail"] == "The bearer token has been revoked"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="feira", error="invalid_token"'


def test_a_deactivated_users_token_is_refused_within_5_seconds(
    client, catalogue, admin, register, login
):
    tokens = signed_in(client, register, login)
    headers = bearer(tokens["access_token"])
    user_id = client.get("/auth/me", headers=headers).json["id"]
    assert catalogue.get("/categories", headers=headers).status_code == 200
    cached_at = time.monotonic()
    change = {"active": False}
    response = client.patch(
        f"/auth/users/{user_id}", json=change, headers=bearer(admin["access_token"])
    )
    assert response.status_code == 200
    polled = last_served(lambda: catalogue.get("/categories", headers=headers), cached_at)
    assert polled < SESSION_SECONDS


def test_a_demoted_admin_cannot_create_a_category_within_5_seconds(
    client, catalogue, admin, register, login
):
    boss = register(email="boss@example.com")
    root = bearer(admin["access_token"])
    client.patch(f"/auth/users/{boss['id']}", json={"role": "admin"}, headers=root)
    headers = bearer(login(email="boss@example.com")["access_token"])
    created = catalogue.post("/categories", json={"name": "Antes"}, headers=headers)
    assert created.status_code == 201, created.json
    cached_at = time.monotonic()
    client.patch(f"/auth/users/{boss['id']}", json={"role": "user"}, headers=root)
    counter = iter(range(100))

    def create():
        body = {"name": f"Depois {next(counter)}"}
        return catalogue.post("/categories", json=body, headers=headers)

    assert last_served(create, cached_at, served=201) < SESSION_SECONDS


def _verified(client, headers) -> str:
    response = client.get("/auth/verify", headers=headers)
    assert response.status_code == 200
    return response.headers[ASSERTION_HEADER]


def test_a_fresh_assertion_from_the_gateway_needs_no_call_to_auth(
    client, products_without_auth, register, login
):
    headers = bearer(signed_in(client, register, login)["access_token"])
    vouched = {**headers, ASSERTION_HEADER: _verified(client, headers)}
    catalogue = products_without_auth.test_client()
    assert catalogue.get("/categories", headers=vouched).status_code == 200
    # Without it, the service must ask auth, which is down: a 503 problem, never a pass.
    alone = catalogue.get("/categories", headers=headers)
    assert alone.status_code == 503 and alone.mimetype == "application/problem+json"


def test_an_assertion_for_another_token_or_a_stale_one_is_not_taken(
    client, products_without_auth, jwt_keys, register, login
):
    ana = bearer(signed_in(client, register, login)["access_token"])
    bob_token = signed_in(client, register, login, email="bob@example.com")["access_token"]
    borrowed = {**ana, ASSERTION_HEADER: _verified(client, bearer(bob_token))}
    now = datetime.now(UTC)
    stale = signed(
        {
            "type": ASSERTION_TYPE,
            "tok": token_digest(ana["Authorization"].split()[1]),
            "iat": now - timedelta(seconds=10),
            "exp": now + timedelta(seconds=60),
            "iss": "feira-auth",
        },
        jwt_keys,
    )
    catalogue = products_without_auth.test_client()
    for headers in (borrowed, {**ana, ASSERTION_HEADER: stale}):
        assert catalogue.get("/categories", headers=headers).status_code == 503


def test_auth_itself_refuses_a_logged_out_token_at_once(client, register, login):
    headers = bearer(signed_in(client, register, login)["access_token"])
    client.post("/auth/logout", headers=headers)
    assert client.get("/auth/me", headers=headers).status_code == 401
