"""Inventory and products together, each REAL on a local port with its outbox relayed: a product
created with stock gets its stock row, the catalogue's `available_quantity` follows every change,
and products may delete a product only when inventory has none of it on hand."""

import pytest

from services.inventory import create_app
from services.inventory.models import outbox
from services.kit.testing import LiveServer, build_app, truncate_all
from services.products import create_app as create_products_app
from services.products.ean import check_digit
from services.products.models import outbox as products_outbox


@pytest.fixture(scope="module")
def servers(database, jwt_keys, tmp_path_factory):
    inventory = build_app(create_app, "inventory", database, jwt_keys)
    products = build_app(
        create_products_app,
        "products",
        database,
        jwt_keys,
        MEDIA_DIR=str(tmp_path_factory.mktemp("media")),
    )
    inventory_server, products_server = LiveServer(inventory).start(), LiveServer(products).start()
    inventory.config["OUTBOX_SUBSCRIBERS"] = {
        "products": f"{products_server.base_url}/internal/events"
    }
    products.config["OUTBOX_SUBSCRIBERS"] = {
        "inventory": f"{inventory_server.base_url}/internal/events"
    }
    products.config["SERVICE_URLS"] = {"inventory": inventory_server.base_url}
    yield inventory, products
    inventory_server.stop()
    products_server.stop()


@pytest.fixture
def apps(servers):
    for app in servers:
        truncate_all(app)
    return servers


def relay(inventory, products):
    """What the two relays would do: deliver everything due, both ways."""
    with products.app_context():
        products_outbox.relay_once()
    with inventory.app_context():
        outbox.relay_once()


def create_product(products, admin, initial_stock):
    body = {
        "name": "Teclado",
        "price": "99.90",
        "barcode": "789000000001" + check_digit("789000000001"),
        "initial_stock": initial_stock,
    }
    response = products.test_client().post("/products", json=body, headers=admin)
    assert response.status_code == 201, response.json
    return response.json["id"]


def available_quantity(products, headers, product_id):
    return (
        products.test_client()
        .get(f"/products/{product_id}", headers=headers)
        .json["available_quantity"]
    )


def test_the_catalogue_shows_live_availability(apps, admin, user):
    inventory, products = apps
    product_id = create_product(products, admin, 12)
    assert available_quantity(products, user, product_id) == 0
    relay(inventory, products)
    stock = inventory.test_client().get(f"/inventory/stock/{product_id}", headers=user).json
    assert (stock["on_hand"], stock["available"]) == (12, 12)
    assert available_quantity(products, user, product_id) == 12

    tester = inventory.test_client()
    body = {"order_id": 1, "items": [{"product_id": product_id, "quantity": 5}]}
    assert tester.post("/inventory/reservations", json=body, headers=user).status_code == 201
    relay(inventory, products)
    assert available_quantity(products, user, product_id) == 7
    body = {"quantity": 3, "reason": "receipt"}
    tester.post(f"/inventory/stock/{product_id}/movements", json=body, headers=admin)
    tester.post("/inventory/reservations/1/commit", headers=user)
    relay(inventory, products)
    assert available_quantity(products, user, product_id) == 10


def test_a_product_with_stock_on_hand_cannot_be_deleted_until_it_is_gone(apps, admin, user):
    inventory, products = apps
    product_id = create_product(products, admin, 4)
    relay(inventory, products)
    refused = products.test_client().delete(f"/products/{product_id}", headers=admin)
    assert refused.status_code == 409 and "4 units are on hand" in refused.json["detail"]

    body = {"quantity": -4, "reason": "adjustment"}
    moved = inventory.test_client().post(
        f"/inventory/stock/{product_id}/movements", json=body, headers=admin
    )
    assert moved.status_code == 201
    assert (
        products.test_client().delete(f"/products/{product_id}", headers=admin).status_code == 204
    )
    relay(inventory, products)
    gone = inventory.test_client().get(f"/inventory/stock/{product_id}", headers=user)
    assert gone.status_code == 404


def test_a_product_inventory_has_no_stock_for_may_be_deleted(apps, admin):
    _, products = apps
    product_id = create_product(products, admin, 0)  # its event not relayed: no stock row yet
    assert (
        products.test_client().delete(f"/products/{product_id}", headers=admin).status_code == 204
    )
