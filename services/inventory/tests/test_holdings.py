"""Holdings against the REAL clients and products services on local ports: a write asks both
whether the client and the product exist (the product's name is copied then), and the events of
their deletion remove the holdings."""

import threading

import pytest
from sqlalchemy import select

from services.clients import create_app as create_clients_app
from services.clients.models import outbox as clients_outbox
from services.inventory import create_app
from services.inventory.holdings import on_client_deleted
from services.inventory.models import Holding, db
from services.inventory.stock import on_product_deleted
from services.kit.testing import LiveServer, build_app, deliver, truncate_all, unreachable_url
from services.products import create_app as create_products_app
from services.products.ean import check_digit


@pytest.fixture(scope="module")
def products(database, jwt_keys, tmp_path_factory):
    app = build_app(
        create_products_app,
        "products",
        database,
        jwt_keys,
        MEDIA_DIR=str(tmp_path_factory.mktemp("media")),
    )
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clients(database, jwt_keys):
    app = build_app(
        create_clients_app,
        "clients",
        database,
        jwt_keys,
    )
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(database, jwt_keys, clients, products):
    """inventory, wired to the served clients and products (overrides the suite's app)."""
    return build_app(
        create_app,
        "inventory",
        database,
        jwt_keys,
        SERVICE_URLS={"clients": clients.base_url, "products": products.base_url},
    )


@pytest.fixture
def make_client(clients, user):
    truncate_all(clients.app)
    counter = iter(range(1000))
    cpfs = ["454.090.000-56", "123.456.789-09", "529.982.247-25", "111.444.777-35"]

    def _make():
        n = next(counter)
        body = {"name": f"Cliente {n}", "email": f"c{n}@example.com", "cpf": cpfs[n % 4]}
        response = clients.app.test_client().post("/clients", json=body, headers=user)
        assert response.status_code == 201, response.json
        return response.json

    return _make


@pytest.fixture
def make_product(products, admin):
    truncate_all(products.app)
    counter = iter(range(1, 1000))

    def _make():
        n = next(counter)
        first_twelve = f"789{n:09d}"
        body = {
            "name": f"Produto {n}",
            "price": "10.00",
            "barcode": first_twelve + check_digit(first_twelve),
        }
        response = products.app.test_client().post("/products", json=body, headers=admin)
        assert response.status_code == 201, response.json
        return response.json

    return _make


def add(client, headers, client_id, product_id, quantity=1):
    body = {"product_id": product_id, "quantity": quantity}
    return client.post(f"/inventory/clients/{client_id}/holdings", json=body, headers=headers)


def holdings_of(app, client_id):
    with app.app_context():
        return db.session.scalars(
            select(Holding.product_id).where(Holding.client_id == client_id).order_by(Holding.id)
        ).all()


# --- adding, listing, removing ---


def test_the_admin_adds_a_holding_with_the_product_name_copied(
    app, client, user, make_client, make_product, admin
):
    owner, product = make_client(), make_product()
    response = add(client, admin, owner["id"], product["id"], 2)
    assert response.status_code == 201
    holding = response.json
    assert response.headers["Location"].endswith(f"/inventory/holdings/{holding['id']}")
    assert holding["client_id"] == owner["id"] and holding["product_id"] == product["id"]
    assert holding["product_name"] == product["name"] and holding["quantity"] == 2
    assert holding["acquired_at"]


def test_the_name_stays_as_it_was_when_the_holding_was_written(
    app, client, user, admin, make_client, make_product, products
):
    owner, product = make_client(), make_product()
    add(client, admin, owner["id"], product["id"])
    products.app.test_client().patch(
        f"/products/{product['id']}", json={"name": "Renomeado"}, headers=admin
    )
    [listed] = client.get(f"/inventory/clients/{owner['id']}/holdings", headers=user).json["items"]
    assert listed["product_name"] == product["name"]


def test_holdings_are_listed_newest_first_a_page_at_a_time(
    client, user, make_client, make_product, admin
):
    owner, other = make_client(), make_client()
    made = [make_product() for _ in range(3)]
    for product in made:
        add(client, admin, owner["id"], product["id"])
    add(client, admin, other["id"], made[0]["id"])
    page = client.get(f"/inventory/clients/{owner['id']}/holdings?per_page=2", headers=user).json
    assert [h["product_id"] for h in page["items"]] == [made[2]["id"], made[1]["id"]]
    assert page["total"] == 3
    assert client.get("/inventory/clients/424242/holdings", headers=user).json["total"] == 0


def test_a_holding_is_removed(app, client, user, make_client, make_product, admin):
    owner, product = make_client(), make_product()
    holding = add(client, admin, owner["id"], product["id"]).json
    assert client.delete(f"/inventory/holdings/{holding['id']}", headers=admin).status_code == 204
    assert client.delete(f"/inventory/holdings/{holding['id']}", headers=admin).status_code == 404
    assert holdings_of(app, owner["id"]) == []


def test_a_user_may_read_holdings_but_not_add_or_remove_them(
    client, user, admin, make_client, make_product
):
    owner, product = make_client(), make_product()
    refused = add(client, user, owner["id"], product["id"])
    assert refused.status_code == 403
    holding = add(client, admin, owner["id"], product["id"]).json
    assert client.delete(f"/inventory/holdings/{holding['id']}", headers=user).status_code == 403
    listed = client.get(f"/inventory/clients/{owner['id']}/holdings", headers=user).json
    assert [h["id"] for h in listed["items"]] == [holding["id"]]


@pytest.mark.parametrize("quantity", [0, -1, 1.5, None])
def test_a_quantity_below_one_or_not_whole_is_a_422(client, user, quantity, admin):
    response = add(client, admin, 1, 1, quantity)
    assert response.status_code == 422 and "quantity" in response.json["errors"]


# --- what must exist ---


def test_an_unknown_client_is_a_404_naming_the_client(app, client, user, make_product, admin):
    product = make_product()
    response = add(client, admin, 424242, product["id"])
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == ["client_id"]
    assert "Client 424242" in response.json["detail"]
    assert holdings_of(app, 424242) == []


def test_an_unknown_product_is_a_404_naming_the_product(app, client, user, make_client, admin):
    owner = make_client()
    response = add(client, admin, owner["id"], 424242)
    assert response.status_code == 404
    assert list(response.json["errors"]) == ["product_id"]
    assert "Product 424242" in response.json["detail"]
    assert holdings_of(app, owner["id"]) == []


# What a holding names: the deleted side's event, its handler, the field and the detail's word.
DELETIONS = {
    "client": ("client.deleted", on_client_deleted, "client_id", "Client"),
    "product": ("product.deleted", on_product_deleted, "product_id", "Product"),
}


@pytest.mark.parametrize("side", DELETIONS)
def test_a_client_or_product_whose_deletion_inventory_has_heard_is_a_404_naming_it(
    app, client, make_client, make_product, admin, side
):
    """The deletion processed between clients' or products' answer and the write: the service
    still says yes (here it was never told), but the holding would outlive the deletion."""
    event, _, field, word = DELETIONS[side]
    owner, product = make_client(), make_product()
    deleted = {"client": owner, "product": product}[side]
    assert deliver(app, event, {field: deleted["id"]}).json == {"status": "processed"}
    response = add(client, admin, owner["id"], product["id"])
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == [field]
    assert f"{word} {deleted['id']}" in response.json["detail"]
    assert holdings_of(app, owner["id"]) == []


@pytest.mark.parametrize("side", DELETIONS)
def test_a_write_waits_for_a_client_or_product_deleted_in_progress_and_is_then_a_404(
    app, client, make_client, make_product, admin, side
):
    """The event's transaction is open (tombstone and deletion not yet committed) while the POST
    writes: without that client's or product's lock the POST would see no tombstone, and its
    holding would outlive the deletion, which could not see it."""
    _, handler, field, _ = DELETIONS[side]
    owner, product = make_client(), make_product()
    deleted = {"client": owner, "product": product}[side]
    answers = []
    with app.app_context():
        handler({field: deleted["id"]})
        writer = threading.Thread(
            target=lambda: answers.append(add(client, admin, owner["id"], product["id"]))
        )
        writer.start()
        writer.join(1)
        assert writer.is_alive(), answers[0].status_code
        db.session.commit()
    writer.join(10)
    assert answers[0].status_code == 404 and list(answers[0].json["errors"]) == [field]
    assert holdings_of(app, owner["id"]) == []


def test_both_unknown_is_a_404_naming_both(client, user, make_client, make_product, admin):
    response = add(client, admin, 424242, 424243)
    assert sorted(response.json["errors"]) == ["client_id", "product_id"]


@pytest.fixture(scope="module")
def closed_url():
    return unreachable_url()


@pytest.fixture(scope="module")
def app_without_clients(database, jwt_keys, products, closed_url):
    return build_app(
        create_app,
        "inventory",
        database,
        jwt_keys,
        SERVICE_URLS={"clients": closed_url, "products": products.base_url},
    )


@pytest.fixture(scope="module")
def app_without_products(database, jwt_keys, clients, closed_url):
    return build_app(
        create_app,
        "inventory",
        database,
        jwt_keys,
        SERVICE_URLS={"clients": clients.base_url, "products": closed_url},
    )


@pytest.mark.parametrize("down", ["app_without_clients", "app_without_products"])
def test_when_a_checker_is_down_a_write_is_503_and_stores_nothing(
    request, app, client, admin, make_client, make_product, down
):
    owner, product = make_client(), make_product()
    response = add(request.getfixturevalue(down).test_client(), admin, owner["id"], product["id"])
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    assert holdings_of(app, owner["id"]) == []


# --- deletions elsewhere ---


def test_client_deleted_removes_the_client_holdings_only(
    app, client, user, make_client, make_product, admin
):
    gone, kept = make_client(), make_client()
    product = make_product()
    for owner in (gone, kept):
        add(client, admin, owner["id"], product["id"])
    assert deliver(app, "client.deleted", {"client_id": gone["id"]}).json == {"status": "processed"}
    assert holdings_of(app, gone["id"]) == []
    assert holdings_of(app, kept["id"]) == [product["id"]]


def test_a_client_deleted_in_clients_leaves_no_holdings_through_the_outbox(
    app, client, user, admin, make_client, make_product, clients
):
    owner, product = make_client(), make_product()
    add(client, admin, owner["id"], product["id"])
    inventory = LiveServer(app).start()
    clients.app.config["OUTBOX_SUBSCRIBERS"] = {
        "inventory": f"{inventory.base_url}/internal/events"
    }
    try:
        deleted = clients.app.test_client().delete(f"/clients/{owner['id']}", headers=admin)
        assert deleted.status_code == 204
        with clients.app.app_context():
            assert clients_outbox.relay_once() == 1
    finally:
        clients.app.config["OUTBOX_SUBSCRIBERS"] = {}
        inventory.stop()
    assert holdings_of(app, owner["id"]) == []
