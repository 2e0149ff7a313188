"""The reservations answer orders alone, by its signed service credential: a user's token, another
service's credential or a forged one is refused."""

import time

from itsdangerous import TimestampSigner

from services.kit.security import CREDENTIAL_HEADER, CREDENTIAL_REFUSED, sign_credential
from services.kit.testing import access_token, bearer, from_service

PROBLEM = "application/problem+json"


def reserve(client, headers, order_id=501):
    return client.post(
        "/inventory/reservations",
        json={"order_id": order_id, "items": [{"product_id": 1, "quantity": 1}]},
        headers=headers,
    )


def a_user(jwt_keys):
    return bearer(access_token(jwt_keys, user_id=10, role="user"))


def test_a_user_token_alone_is_refused_on_the_reservations(client, jwt_keys, make_stock):
    make_stock(5, product_id=1)
    for call in (
        lambda headers: reserve(client, headers),
        lambda headers: client.get("/inventory/reservations/501", headers=headers),
        lambda headers: client.post("/inventory/reservations/501/release", headers=headers),
        lambda headers: client.post("/inventory/reservations/501/commit", headers=headers),
    ):
        response = call(bearer(access_token(jwt_keys, user_id=1, role="admin")))
        assert response.status_code == 401 and response.mimetype == PROBLEM
        assert "service credential" in response.json["detail"]


def test_orders_credential_is_accepted(client, jwt_keys, make_stock):
    make_stock(5, product_id=1)
    response = reserve(client, from_service("orders", "inventory", a_user(jwt_keys)))
    assert response.status_code == 201, response.json


def test_another_services_credential_is_refused(client, jwt_keys, make_stock):
    make_stock(5, product_id=1)
    response = reserve(client, from_service("clients", "inventory", a_user(jwt_keys)))
    assert response.status_code == 403 and response.mimetype == PROBLEM


def test_a_forged_or_misaddressed_credential_is_refused(client, jwt_keys, make_stock):
    make_stock(5, product_id=1)
    forged = sign_credential("guessed-key", "orders", "inventory")
    for_auth = from_service("orders", "auth")[CREDENTIAL_HEADER]
    for credential in (forged, for_auth, "orders", "orders.x.y"):
        response = reserve(client, {**a_user(jwt_keys), CREDENTIAL_HEADER: credential})
        assert response.status_code == 401, credential
        assert response.json["detail"] == CREDENTIAL_REFUSED


def test_orders_credential_alone_reserves_but_never_releases_or_commits(client, make_stock):
    """A reservation records no user; a release or a commit writes movements by the user who
    cancelled or shipped, so those still need the user's token beside orders' credential."""
    make_stock(5, product_id=1)
    orders_alone = from_service("orders", "inventory")
    response = reserve(client, orders_alone, order_id=502)
    assert response.status_code == 201 and response.json["status"] == "reserved"
    for action in ("release", "commit"):
        refused = client.post(f"/inventory/reservations/502/{action}", headers=orders_alone)
        assert refused.status_code == 401 and refused.mimetype == PROBLEM


def test_an_expired_credential_is_refused(client, jwt_keys, make_stock):
    class Minute(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 60

    make_stock(5, product_id=1)
    signer = Minute("test-orders-service-key", salt="feira-service-credential:inventory")
    old = signer.sign("orders").decode()
    response = reserve(client, {**a_user(jwt_keys), CREDENTIAL_HEADER: old})
    assert response.status_code == 401
