"""Favorites against the REAL products service on a local port: existence checked with
`HEAD /products/{id}`, names and prices fetched in one `GET /products?ids=…`, deletions heard
through the outbox."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import request
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from services.clients import create_app, favorites
from services.clients.models import DeletedProduct, Favorite, db
from services.kit.testing import (
    LiveServer,
    answered_behind,
    build_app,
    deliver,
    truncate_all,
    unreachable_url,
)
from services.products import create_app as create_products_app
from services.products.ean import check_digit
from services.products.models import outbox as products_outbox

from .conftest import deleted_after_the_first_commit, deletion_held


class Products:
    """The products service, served for real, and the requests it received."""

    def __init__(self, app):
        self.app = app
        self.calls: list[tuple[str, str]] = []
        app.before_request(lambda: self.calls.append((request.method, request.full_path)))
        self.server = LiveServer(app).start()

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="module")
def products(database, jwt_keys, tmp_path_factory):
    app = build_app(
        create_products_app,
        "products",
        database,
        jwt_keys,
        MEDIA_DIR=str(tmp_path_factory.mktemp("media")),
    )
    served = Products(app)
    yield served
    served.server.stop()


@pytest.fixture(scope="module")
def app(database, jwt_keys, products):
    """clients, wired to the served products (overrides the suite's app for this module)."""
    return build_app(
        create_app,
        "clients",
        database,
        jwt_keys,
        SERVICE_URLS={"products": products.url},
    )


@pytest.fixture
def make_product(products, admin):
    truncate_all(products.app)
    counter = iter(range(1, 1000))

    def _make(**fields):
        n = next(counter)
        first_twelve = f"789{n:09d}"
        body = {
            "name": f"Produto {n}",
            "price": "10.00",
            "barcode": first_twelve + check_digit(first_twelve),
            **fields,
        }
        response = products.app.test_client().post("/products", json=body, headers=admin)
        assert response.status_code == 201, response.json
        return response.json

    yield _make
    products.calls.clear()


def favorites_of(app, client_id):
    with app.app_context():
        return db.session.scalars(
            select(Favorite.product_id)
            .where(Favorite.client_id == client_id)
            .order_by(Favorite.product_id)
        ).all()


# --- adding ---


def test_put_adds_a_favorite_with_201_then_answers_200_without_adding_it_twice(
    app, client, user, make_client, make_product, products
):
    owner, product = make_client(), make_product()
    path = f"/clients/{owner['id']}/favorites/{product['id']}"
    first = client.put(path, headers=user)
    assert first.status_code == 201 and first.headers["Location"] == path
    assert first.json["client_id"] == owner["id"] and first.json["product_id"] == product["id"]
    again = client.put(path, headers=user)
    assert again.status_code == 200 and again.json == first.json
    assert favorites_of(app, owner["id"]) == [product["id"]]
    assert ("HEAD", f"/products/{product['id']}?") in products.calls
    assert client.get(path, headers=user).json == first.json


def test_concurrent_puts_of_one_favorite_add_it_once(app, client, user, make_client, make_product):
    owner, product = make_client(), make_product()
    path = f"/clients/{owner['id']}/favorites/{product['id']}"

    def put(_):
        return app.test_client().put(path, headers=user).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = sorted(pool.map(put, range(5)))
    assert statuses == [200] * 4 + [201]
    assert favorites_of(app, owner["id"]) == [product["id"]]


def test_a_favorite_added_while_its_client_is_being_deleted_is_404_and_not_kept(
    app, client, user, make_client, make_product
):
    owner, product = make_client(), make_product()
    path = f"/clients/{owner['id']}/favorites/{product['id']}"
    with deletion_held(app, owner["id"]) as holder:
        response = answered_behind(app, holder, lambda: client.put(path, headers=user))
    assert response.status_code == 404
    assert response.json["detail"] == f"Client {owner['id']} does not exist"
    assert favorites_of(app, owner["id"]) == []


def test_a_favorite_whose_client_is_deleted_right_after_it_is_stored_is_answered_201(
    app, client, user, make_client, make_product
):
    owner, product = make_client(), make_product()
    with deleted_after_the_first_commit(app, owner["id"]):
        response = client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
    assert response.status_code == 201
    assert (response.json["client_id"], response.json["product_id"]) == (owner["id"], product["id"])
    assert favorites_of(app, owner["id"]) == []


def test_a_favorite_added_while_its_product_is_being_deleted_is_404_and_not_kept(
    app, client, user, admin, make_client, make_product, products, monkeypatch
):
    """products answered the HEAD 200; then, while the PUT waited for the client's lock (behind
    a PATCH of the client), the product was deleted and its `product.deleted` applied here. A
    favorite stored after that would be removed by nothing: the list would count it in `total`
    without showing it, and GET would answer it."""
    owner, product = make_client(), make_product()
    path = f"/clients/{owner['id']}/favorites/{product['id']}"

    def product_deleted():
        deleted = products.app.test_client().delete(f"/products/{product['id']}", headers=admin)
        assert deleted.status_code == 204
        heard = deliver(app, "product.deleted", {"product_id": product["id"]})
        assert heard.json == {"status": "processed"}

    def deleted_before_the_client_lock(client_id):
        # In a thread of its own: the event's request has its own app context and session.
        with ThreadPoolExecutor(max_workers=1) as other:
            other.submit(product_deleted).result()
        lock_client(client_id)

    lock_client = favorites.lock_client
    monkeypatch.setattr(favorites, "lock_client", deleted_before_the_client_lock)
    response = client.put(path, headers=user)
    monkeypatch.undo()

    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.json["detail"] == f"Product {product['id']} does not exist"
    assert favorites_of(app, owner["id"]) == []
    listed = client.get(f"/clients/{owner['id']}/favorites", headers=user).json
    assert (listed["items"], listed["total"]) == ([], 0)
    assert client.get(path, headers=user).status_code == 404


def test_a_favorite_waits_for_its_products_deletion_in_progress_and_is_then_a_404(
    app, client, user, make_client, make_product
):
    """The event's transaction is open (tombstone written, favorites deleted, not committed)
    while the PUT inserts: without the product's lock the PUT would not see the tombstone, and
    its favorite would outlive the deletion, which could not see it."""
    owner, product = make_client(), make_product()
    answers = []
    with app.app_context():
        favorites.on_product_deleted({"product_id": product["id"]})
        writer = threading.Thread(
            target=lambda: answers.append(
                client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
            )
        )
        writer.start()
        writer.join(1)
        assert writer.is_alive(), answers[0].status_code
        db.session.commit()
    writer.join(10)
    assert answers[0].status_code == 404
    assert answers[0].json["detail"] == f"Product {product['id']} does not exist"
    assert favorites_of(app, owner["id"]) == []


def test_the_deleted_products_migration_goes_down_and_up_again(app, client):
    with app.app_context():
        db.session.add(DeletedProduct(product_id=9))
        db.session.commit()
        db.session.remove()
        downgrade(revision="226782dfd7b2")
        try:
            assert not inspect(db.engine).has_table("deleted_products", schema="clients")
        finally:
            upgrade()
        assert db.session.scalars(select(DeletedProduct.product_id)).all() == []
        db.session.remove()


def test_an_unknown_product_is_404_and_nothing_is_stored(
    app, client, user, make_client, make_product
):
    owner = make_client()
    make_product()
    response = client.put(f"/clients/{owner['id']}/favorites/424242", headers=user)
    assert response.status_code == 404 and "Product 424242" in response.json["detail"]
    assert favorites_of(app, owner["id"]) == []


def test_favorites_of_an_unknown_client_are_404_without_asking_products(
    client, user, make_product, products
):
    product = make_product()
    products.calls.clear()
    assert client.put(f"/clients/424242/favorites/{product['id']}", headers=user).status_code == 404
    assert client.get("/clients/424242/favorites", headers=user).status_code == 404
    assert products.calls == []


def test_favorites_need_a_token(client, make_client):
    owner = make_client()
    assert client.get(f"/clients/{owner['id']}/favorites").status_code == 401
    assert client.put(f"/clients/{owner['id']}/favorites/1").status_code == 401


# --- listing ---


def test_the_list_has_names_and_prices_from_one_batch_call(
    client, user, make_client, make_product, products
):
    owner = make_client()
    made = [make_product(name=n, price=p) for n, p in [("Café", "18.90"), ("Pão", "0.75")]]
    retired = make_product(name="Leite", price="5.49", active=False)
    for product in [*made, retired]:
        client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
    products.calls.clear()

    response = client.get(f"/clients/{owner['id']}/favorites", headers=user)
    assert response.status_code == 200
    items = response.json["items"]
    assert [(i["name"], i["price"], i["active"]) for i in items] == [
        ("Leite", "5.49", False),
        ("Pão", "0.75", True),
        ("Café", "18.90", True),
    ]
    assert [i["product_id"] for i in items] == [retired["id"], made[1]["id"], made[0]["id"]]
    assert all(i["added_at"] for i in items) and response.json["total"] == 3
    [(method, path)] = products.calls
    assert method == "GET" and path.startswith("/products?ids=")


def test_the_list_is_paginated_and_sorted_by_when_each_was_added(
    client, user, make_client, make_product
):
    owner = make_client()
    made = [make_product() for _ in range(3)]
    for product in made:
        client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
    base = f"/clients/{owner['id']}/favorites"
    oldest = client.get(f"{base}?sort=created_at&per_page=2", headers=user).json
    assert [i["product_id"] for i in oldest["items"]] == [made[0]["id"], made[1]["id"]]
    assert oldest["total"] == 3
    assert client.get(f"{base}?sort=name", headers=user).status_code == 422


def test_no_favorites_means_no_call_to_products(client, user, make_client, products):
    owner = make_client()
    products.calls.clear()
    response = client.get(f"/clients/{owner['id']}/favorites", headers=user)
    assert response.json == {"items": [], "page": 1, "per_page": 20, "total": 0}
    assert products.calls == []


def test_a_product_deleted_a_moment_ago_is_left_out_of_the_page(
    client, user, admin, make_client, make_product, products
):
    owner = make_client()
    kept, gone = make_product(), make_product()
    for product in (kept, gone):
        client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
    products.app.test_client().delete(f"/products/{gone['id']}", headers=admin)
    items = client.get(f"/clients/{owner['id']}/favorites", headers=user).json["items"]
    assert [i["product_id"] for i in items] == [kept["id"]]


# --- removing ---


def test_delete_removes_a_favorite_and_a_second_delete_is_404(
    app, client, user, make_client, make_product
):
    owner, product = make_client(), make_product()
    path = f"/clients/{owner['id']}/favorites/{product['id']}"
    client.put(path, headers=user)
    assert client.delete(path, headers=user).status_code == 204
    assert favorites_of(app, owner["id"]) == []
    assert client.delete(path, headers=user).status_code == 404
    assert client.get(path, headers=user).status_code == 404


def test_deleting_a_client_deletes_its_favorites(
    app, client, user, admin, make_client, make_product
):
    owner, product = make_client(), make_product()
    client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
    client.delete(f"/clients/{owner['id']}", headers=admin)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Favorite)) == 0


def test_product_deleted_removes_the_product_from_every_favorites_list(
    app, client, user, make_client, make_product
):
    first, second = make_client(), make_client()
    gone, kept = make_product(), make_product()
    for owner in (first, second):
        for product in (gone, kept):
            client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
    response = deliver(app, "product.deleted", {"product_id": gone["id"]})
    assert response.json == {"status": "processed"}
    assert favorites_of(app, first["id"]) == favorites_of(app, second["id"]) == [kept["id"]]
    again = client.put(f"/clients/{first['id']}/favorites/{gone['id']}", headers=user)
    assert again.status_code == 404 and favorites_of(app, first["id"]) == [kept["id"]]


def test_a_product_deleted_in_products_leaves_the_favorites_through_the_outbox(
    app, client, user, admin, make_client, make_product, products
):
    owner, product = make_client(), make_product()
    client.put(f"/clients/{owner['id']}/favorites/{product['id']}", headers=user)
    clients_server = LiveServer(app).start()
    products.app.config["OUTBOX_SUBSCRIBERS"] = {
        "clients": f"{clients_server.base_url}/internal/events"
    }
    try:
        deleted = products.app.test_client().delete(f"/products/{product['id']}", headers=admin)
        assert deleted.status_code == 204
        with products.app.app_context():
            assert products_outbox.relay_once() == 1
    finally:
        products.app.config["OUTBOX_SUBSCRIBERS"] = {}
        clients_server.stop()
    assert favorites_of(app, owner["id"]) == []


# --- products down ---


@pytest.fixture(scope="module")
def app_without_products(database, jwt_keys):
    """clients, with products configured at an address where nothing listens."""
    return build_app(
        create_app,
        "clients",
        database,
        jwt_keys,
        SERVICE_URLS={"products": unreachable_url()},
    )


def test_when_products_is_down_favorites_answer_503_and_store_nothing(
    app, client, user, make_client, app_without_products
):
    owner = make_client()
    with app.app_context():
        db.session.add(Favorite(client_id=owner["id"], product_id=7))
        db.session.commit()
    down = app_without_products.test_client()
    put = down.put(f"/clients/{owner['id']}/favorites/8", headers=user)
    listed = down.get(f"/clients/{owner['id']}/favorites", headers=user)
    assert put.status_code == listed.status_code == 503
    assert put.mimetype == listed.mimetype == "application/problem+json"
    assert favorites_of(app, owner["id"]) == [7]
