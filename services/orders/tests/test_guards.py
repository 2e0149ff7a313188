"""Clients and products ask the real orders service before deleting: a client with open orders,
an address open orders ship to and a product any order names stay (409); orders down is a 503
and nothing is deleted."""

import pytest

from services.clients import create_app as create_clients_app
from services.kit.testing import build_app, rewired, unreachable_url
from services.products import create_app as create_products_app

from .conftest import order_body

PROBLEM = "application/problem+json"
ADDRESS = {
    "state": "RJ",
    "city": "Niterói",
    "street": "Rua da Praia",
    "number": "7",
    "cep": "24020000",
}


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


@pytest.fixture
def clients_without_orders(guarded_clients):
    """clients, with orders down: its guards cannot ask."""
    down = {"SERVICE_URLS": {"orders": unreachable_url()}, "HTTP_RETRIES": 0}
    with rewired(guarded_clients.application, **down) as app:
        yield app.test_client()


def test_orders_down_is_a_503_and_nothing_is_deleted(clients_without_orders, admin, make_client):
    buyer = make_client()
    response = clients_without_orders.delete(f"/clients/{buyer['id']}", headers=admin)
    assert response.status_code == 503
    assert clients_without_orders.head(f"/clients/{buyer['id']}", headers=admin).status_code == 200


def shipping_to(client, user, admin, buyer, product, address_id, *statuses):
    """An order of `buyer` shipping to `address_id`, moved through `statuses`."""
    placed = client.post(
        "/orders",
        json=order_body(buyer["id"], (product["id"], 1), shipping_address_id=address_id),
        headers=user,
    )
    assert placed.status_code == 201, placed.json
    for status in statuses:
        moved = client.post(
            f"/orders/{placed.json['id']}/status", json={"status": status}, headers=admin
        )
        assert moved.status_code == 200, moved.json


@pytest.mark.parametrize(
    "statuses", [(), ("paid",), ("paid", "shipped")], ids=["pending", "paid", "shipped"]
)
def test_an_address_an_open_order_ships_to_cannot_be_deleted(
    client, guarded_clients, user, admin, make_client, make_product, statuses
):
    buyer, product = make_client(address=True), make_product(stock=5)
    shipping_to(client, user, admin, buyer, product, buyer["address_id"], *statuses)
    where = f"/clients/{buyer['id']}/addresses/{buyer['address_id']}"
    response = guarded_clients.delete(where, headers=user)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert response.json["detail"] == (
        f"Address {buyer['address_id']} is the shipping address of 1 open "
        "(pending, paid or shipped) order"
    )
    assert response.json["errors"] == {"address_id": ["Open orders ship to this address."]}
    assert guarded_clients.get(where, headers=user).status_code == 200


def test_an_address_only_closed_orders_ship_to_can_be_deleted_while_others_are_open(
    client, guarded_clients, user, admin, make_client, make_product
):
    """The client's open order to another address (and one to none) does not hold this one."""
    buyer, product = make_client(address=True), make_product(stock=5)
    other = guarded_clients.post(f"/clients/{buyer['id']}/addresses", json=ADDRESS, headers=user)
    assert other.status_code == 201, other.json
    shipping_to(client, user, admin, buyer, product, buyer["address_id"], "cancelled")
    shipping_to(
        client, user, admin, buyer, product, buyer["address_id"], "paid", "shipped", "delivered"
    )
    shipping_to(client, user, admin, buyer, product, other.json["id"])
    shipping_to(client, user, admin, buyer, product, None)
    where = f"/clients/{buyer['id']}/addresses/{buyer['address_id']}"
    assert guarded_clients.delete(where, headers=user).status_code == 204
    assert guarded_clients.get(where, headers=user).status_code == 404


def test_orders_down_is_a_503_and_the_address_is_not_deleted(
    clients_without_orders, user, make_client
):
    buyer = make_client(address=True)
    where = f"/clients/{buyer['id']}/addresses/{buyer['address_id']}"
    response = clients_without_orders.delete(where, headers=user)
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert clients_without_orders.get(where, headers=user).status_code == 200
