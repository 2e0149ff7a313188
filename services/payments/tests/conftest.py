"""The payments suite runs against the REAL orders (with clients, products and inventory behind
it) and the Stripe stand-in, each over real HTTP on a local port, all on the test database; the
stand-in's webhooks reach payments on its own port, as the gateway would pass them on."""

import time

import pytest
import requests
from sqlalchemy import select

from services.clients import create_app as create_clients_app
from services.inventory import create_app as create_inventory_app
from services.kit.testing import LiveServer, build_app, deliver, truncate_all
from services.orders import create_app as create_orders_app
from services.payments import create_app
from services.payments.models import db, outbox
from services.products import create_app as create_products_app
from services.products.ean import check_digit
from standins.stripe.testing import running_stripe_standin

SECRET_KEY = "sk_test_payments_suite"
WEBHOOK_SECRET = "whsec_payments_suite"
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


@pytest.fixture(scope="session")
def inventory(database, jwt_keys):
    server = _serve(create_inventory_app, "inventory", database, jwt_keys)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def orders(database, jwt_keys, clients, products, inventory):
    app = build_app(
        create_orders_app,
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
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def standin():
    with running_stripe_standin(secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET) as running:
        yield running


@pytest.fixture(scope="session")
def app(database, jwt_keys, orders, standin):
    return build_app(
        create_app,
        "payments",
        database,
        jwt_keys,
        OUTBOX_SUBSCRIBERS={"orders": f"{orders.base_url}/internal/events"},
        SERVICE_URLS={"orders": orders.base_url},
        HTTP_RETRIES=0,
        PAYMENTS_PROVIDER_URL=standin.url,
        PAYMENTS_PROVIDER_SECRET_KEY=SECRET_KEY,
        PAYMENTS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PAYMENTS_PROVIDER_RETRIES=0,
        PIX_EXPIRES_S=900,
        PAYMENTS_RECONCILE_AFTER_S=0,
    )


@pytest.fixture(scope="session")
def served(app, standin):
    server = LiveServer(app).start()
    standin.webhook_url = f"{server.base_url}/payments/webhooks/stripe"
    yield server
    server.stop()


@pytest.fixture
def client(app, served, orders, clients, products, inventory, standin):
    # A webhook of the last test arriving now would write the tables being emptied (a deadlock).
    standin.quiet()
    for each in (app, orders.app, clients.app, products.app, inventory.app):
        truncate_all(each)
    app.config["PIX_EXPIRES_S"] = 900
    return app.test_client()


@pytest.fixture
def order(client, orders, clients, products, inventory, user, admin):
    """Places a pending order of `quantity` units at `price` (placed by user 10); its JSON."""
    counter = iter(range(1, 1000))

    def _place(price: str = "30.25", quantity: int = 2):
        n = next(counter)
        buyer = clients.app.test_client().post(
            "/clients",
            json={"name": f"Cliente {n}", "email": f"c{n}@example.com", "cpf": CPFS[n % 4]},
            headers=user,
        )
        assert buyer.status_code == 201, buyer.json
        first_twelve = f"789{n:09d}"
        product = products.app.test_client().post(
            "/products",
            json={
                "name": f"Produto {n}",
                "price": price,
                "barcode": first_twelve + check_digit(first_twelve),
            },
            headers=admin,
        )
        assert product.status_code == 201, product.json
        stocked = deliver(
            inventory.app,
            "product.created",
            {"product_id": product.json["id"], "initial_stock": 10},
        )
        assert stocked.status_code == 200
        placed = orders.app.test_client().post(
            "/orders",
            json={
                "client_id": buyer.json["id"],
                "items": [{"product_id": product.json["id"], "quantity": quantity}],
            },
            headers=user,
        )
        assert placed.status_code == 201, placed.json
        return placed.json

    return _place


def order_status(orders, order_id, headers) -> str:
    response = orders.app.test_client().get(f"/orders/{order_id}", headers=headers)
    assert response.status_code == 200
    return response.json["status"]


def emitted(app, event_type: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(
            select(outbox.Event.payload)
            .where(outbox.Event.type == event_type)
            .order_by(outbox.Event.id)
        ).all()
        db.session.remove()
        return [row["data"] for row in rows]


def relay(app) -> int:
    with app.app_context():
        delivered = outbox.relay_once()
        db.session.remove()
        return delivered


def eventually(check, timeout: float = 10.0):
    """`check()` once it is truthy (webhooks arrive from the stand-in's own thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def intents_made(standin) -> set[str]:
    """The ids of every PaymentIntent the stand-in has made."""
    return set(standin.app.extensions["stripe_store"].payment_intents)


def standin_post(standin, path: str, body: dict | None = None):
    return requests.post(f"{standin.url}/_standin{path}", json=body or {}, timeout=10)


def standin_events(standin, intent_id: str) -> list[dict]:
    response = requests.get(
        f"{standin.url}/_standin/events", params={"payment_intent": intent_id}, timeout=10
    )
    return response.json()["data"]
