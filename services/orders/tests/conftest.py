"""The orders suite runs against the REAL clients, products and inventory services, each on a
local port (LiveServer), all on the test database; orders itself is served too, so concurrent
requests are real concurrent HTTP requests."""

import time
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import select

from services.clients import create_app as create_clients_app
from services.clients.models import db as clients_db
from services.clients.models import outbox as clients_outbox
from services.inventory import create_app as create_inventory_app
from services.inventory.models import Reservation, Stock
from services.inventory.models import db as inventory_db
from services.kit.testing import (
    LiveServer,
    access_token,
    bearer,
    build_app,
    deliver,
    rewired,
    truncate_all,
)
from services.orders import create_app
from services.orders.models import Order, db
from services.products import create_app as create_products_app
from services.products.ean import check_digit
from services.products.models import db as products_db
from services.products.models import outbox as products_outbox

CPFS = ["454.090.000-56", "123.456.789-09", "529.982.247-25", "111.444.777-35"]


def _serve(create, name, database, jwt_keys, **config):
    return LiveServer(build_app(create, name, database, jwt_keys, **config)).start()


@pytest.fixture(scope="session")
def clients(database, jwt_keys):
    server = _serve(create_clients_app, "clients", database, jwt_keys)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def products(database, jwt_keys, tmp_path_factory):
    media = str(tmp_path_factory.mktemp("media"))
    server = _serve(create_products_app, "products", database, jwt_keys, MEDIA_DIR=media)
    yield server
    server.stop()


class Inventory:
    """inventory on a port that outlives a stop: `stop()` then `start()` serves it again there."""

    def __init__(self, app):
        self.app = app
        self.server = LiveServer(app).start()
        self.port = self.server.port
        self.base_url = self.server.base_url

    def stop(self):
        self.server.stop()

    def start(self):
        self.server = LiveServer(self.app, self.port).start()


@pytest.fixture(scope="session")
def inventory(database, jwt_keys):
    app = build_app(
        create_inventory_app,
        "inventory",
        database,
        jwt_keys,
    )
    served = Inventory(app)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def app(database, jwt_keys, clients, products, inventory):
    return build_app(
        create_app,
        "orders",
        database,
        jwt_keys,
        OUTBOX_SUBSCRIBERS={"inventory": f"{inventory.base_url}/internal/events"},
        SERVICE_URLS={
            "clients": clients.base_url,
            "products": products.base_url,
            "inventory": inventory.base_url,
        },
        HTTP_RETRIES=0,
    )


@pytest.fixture(scope="session")
def served(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def heard(served, clients, products):
    """clients and products address their events to the served orders; `relay()` runs both
    relays once, as their relay processes do every 0.25 s."""
    inbox = {"orders": f"{served.base_url}/internal/events"}
    clients.app.config["OUTBOX_SUBSCRIBERS"] = inbox
    products.app.config["OUTBOX_SUBSCRIBERS"] = inbox

    def relay() -> int:
        delivered = 0
        for app, outbox, its_db in (
            (clients.app, clients_outbox, clients_db),
            (products.app, products_outbox, products_db),
        ):
            with app.app_context():
                delivered += outbox.relay_once()
                its_db.session.remove()
        return delivered

    yield relay
    clients.app.config["OUTBOX_SUBSCRIBERS"] = {}
    products.app.config["OUTBOX_SUBSCRIBERS"] = {}


@pytest.fixture
def client(app, clients, products, inventory):
    for each in (app, clients.app, products.app, inventory.app):
        truncate_all(each)
    return app.test_client()


@pytest.fixture
def owner(jwt_keys):
    """A user (id 10) who places orders; `user` in the shared fixtures is the same user."""
    return bearer(access_token(jwt_keys, user_id=10, role="user"))


@pytest.fixture
def stranger(jwt_keys):
    return bearer(access_token(jwt_keys, user_id=11, role="user"))


@pytest.fixture
def make_client(client, clients, user):
    counter = iter(range(1000))

    def _make(address: bool = False):
        n = next(counter)
        body = {"name": f"Cliente {n}", "email": f"c{n}@example.com", "cpf": CPFS[n % 4]}
        response = clients.app.test_client().post("/clients", json=body, headers=user)
        assert response.status_code == 201, response.json
        made = response.json
        if address:
            body = {
                "state": "SP",
                "city": "São Paulo",
                "street": "Av. Paulista",
                "number": "1000",
                "cep": "01310100",
            }
            response = clients.app.test_client().post(
                f"/clients/{made['id']}/addresses", json=body, headers=user
            )
            assert response.status_code == 201, response.json
            made["address_id"] = response.json["id"]
        return made

    return _make


@pytest.fixture
def make_product(client, products, inventory, admin):
    """A product in the catalogue and its stock in inventory (as `product.created` makes it)."""
    counter = iter(range(1, 1000))

    def _make(stock: int = 10, price: str = "10.00", category_id=None, active=True):
        n = next(counter)
        first_twelve = f"789{n:09d}"
        body = {
            "name": f"Produto {n}",
            "price": price,
            "barcode": first_twelve + check_digit(first_twelve),
            "active": active,
        }
        if category_id:
            body["category_id"] = category_id
        response = products.app.test_client().post("/products", json=body, headers=admin)
        assert response.status_code == 201, response.json
        delivered = deliver(
            inventory.app,
            "product.created",
            {"product_id": response.json["id"], "initial_stock": stock},
        )
        assert delivered.status_code == 200, delivered.json
        return response.json

    return _make


@pytest.fixture
def make_category(client, products, admin):
    counter = iter(range(1, 1000))

    def _make():
        body = {"name": f"Categoria {next(counter)}"}
        response = products.app.test_client().post("/categories", json=body, headers=admin)
        assert response.status_code == 201, response.json
        return response.json["id"]

    return _make


def paid_then_refunded(client, order_id: int, payment_id: int, total: str, refunded: str):
    """payments' events: `payment_id` paid the order, then `refunded` of it went back."""
    paid = {"payment_id": payment_id, "order_id": order_id, "amount": total, "method": "pix"}
    back = {
        "payment_id": payment_id,
        "order_id": order_id,
        "amount": refunded,
        "refunded_amount": refunded,
        "full": refunded == total,
        "version": "2026-12-11T10:00:00+00:00",
    }
    for event, data in (("payment.succeeded", paid), ("payment.refunded", back)):
        assert deliver(client.application, event, data).json["status"] == "processed"


def order_body(client_id, *lines, **more):
    items = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]
    return {"client_id": client_id, "items": items, **more}


def stock_of(inventory, product_id) -> dict:
    with inventory.app.app_context():
        stock = inventory_db.session.get(Stock, product_id)
        inventory_db.session.refresh(stock)
        return {"on_hand": stock.on_hand, "reserved": stock.reserved, "available": stock.available}


def reservations(inventory) -> list[tuple[int, str]]:
    with inventory.app.app_context():
        rows = inventory_db.session.execute(
            select(Reservation.order_id, Reservation.status).order_by(Reservation.order_id)
        ).all()
        inventory_db.session.remove()
        return [tuple(row) for row in rows]


def stored_orders(app) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session.execute(select(Order.id, Order.status).order_by(Order.id)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def relay(app) -> int:
    from services.orders.models import outbox

    with app.app_context():
        delivered = outbox.relay_once()
        db.session.remove()
        return delivered


def post_json(url, body, headers, **kwargs):
    return requests.post(url, json=body, headers=headers, timeout=30, **kwargs)


ORDERS_GIVE_UP_AFTER = 0.5  # seconds: orders' read timeout while inventory answers late


@contextmanager
def inventory_answering(app, inventory, call: str, *ways: str):
    """For a block, orders reaches inventory through a wrapper that answers its calls `call`
    ("PUT /inventory/reservations/7"), one after the other, as `ways` says: "late", inventory
    does the work and answers after orders gave up on it (its read timeout cut for the block);
    "failing", a 500 without doing anything. Other calls, and those after `ways`, pass on."""
    left = list(ways)

    def answering(environ, start_response):
        if not left or f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}" != call:
            return inventory.app(environ, start_response)
        if left.pop(0) == "failing":
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [b"{}"]
        # The server sends the status and headers with the first chunk: after the pause.
        answer = list(inventory.app(environ, start_response))
        time.sleep(ORDERS_GIVE_UP_AFTER * 3)
        return answer

    wrapper = LiveServer(answering).start()
    urls = {**app.config["SERVICE_URLS"], "inventory": wrapper.base_url}
    try:
        with rewired(app, SERVICE_URLS=urls, HTTP_READ_TIMEOUT=ORDERS_GIVE_UP_AFTER):
            yield
    finally:
        wrapper.stop()
    assert not left, f"inventory was not asked {call} as often as the test said: {left} left"
