"""Clients and products ask the real orders service before deleting: a client with open orders
and a product any order names stay (409); orders down is a 503 and nothing is deleted."""

import pytest

from services.clients import create_app as create_clients_app
from services.kit.testing import build_app, unreachable_url
from services.products import create_app as create_products_app

from .conftest import order_body


@pytest.fixture(scope="module")
def guarded_clients(database, jwt_keys, served):
    return build_app(
        create_clients_app,
        "clients",
        database,
        jwt_keys,
        SERVICE_URLS={"orders": served.base_url},
    ).test_client()


@pytest.fixture(scope="module")
def guarded_products(database, jwt_keys, served, tmp_path_factory):
    return build_app(
        create_products_app,
        "products",
        database,
        jwt_keys,
        SERVICE_URLS={"orders": served.base_url},
        MEDIA_DIR=str(tmp_path_factory.mktemp("media")),
    ).test_client()


@pytest.fixture
def ordered(client, user, make_client, make_product):
    buyer, product = make_client(), make_product(stock=5)
    response = client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], 1)), headers=user
    )
    assert response.status_code == 201
    return {"order": response.json["id"], "client": buyer["id"], "product": product["id"]}


def test_a_client_with_an_open_order_cannot_be_deleted(guarded_clients, admin, ordered):
    response = guarded_clients.delete(f"/clients/{ordered['client']}", headers=admin)
    assert response.status_code == 409
    assert "open" in response.json["detail"]


def test_a_client_whose_orders_are_all_closed_can_be_deleted(
    client, guarded_clients, admin, ordered
):
    client.post(f"/orders/{ordered['order']}/status", json={"status": "cancelled"}, headers=admin)
    assert guarded_clients.delete(f"/clients/{ordered['client']}", headers=admin).status_code == 204


def test_a_product_named_by_any_order_cannot_be_deleted(client, guarded_products, admin, ordered):
    client.post(f"/orders/{ordered['order']}/status", json={"status": "cancelled"}, headers=admin)
    response = guarded_products.delete(f"/products/{ordered['product']}", headers=admin)
    assert response.status_code == 409


def test_orders_down_is_a_503_and_nothing_is_deleted(database, jwt_keys, admin, make_client):
    app = build_app(
        create_clients_app,
        "clients",
        database,
        jwt_keys,
        SERVICE_URLS={"orders": unreachable_url()},
        HTTP_RETRIES=0,
    )
    buyer = make_client()
    response = app.test_client().delete(f"/clients/{buyer['id']}", headers=admin)
    assert response.status_code == 503
    assert app.test_client().head(f"/clients/{buyer['id']}", headers=admin).status_code == 200
