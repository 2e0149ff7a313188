"""Placing an order against the real clients, products and inventory: checks, copied prices,
decimal totals, the reservation, Idempotency-Key, concurrency, and a dependency that is down."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.kit.testing import losing_the_first_answer, rewired
from services.orders import orders
from services.orders.models import IdempotencyKey, db

from .conftest import (
    order_body,
    post_json,
    relay,
    reservations,
    stock_of,
    stored_orders,
)


def test_an_order_copies_prices_and_names_reserves_stock_and_is_pending(
    client, user, make_client, make_product, make_category, inventory
):
    category = make_category()
    buyer = make_client(address=True)
    keyboard = make_product(stock=5, price="30.25", category_id=category)
    mouse = make_product(stock=5, price="0.10")
    body = order_body(
        buyer["id"],
        (keyboard["id"], 2),
        (mouse["id"], 3),
        shipping_address_id=buyer["address_id"],
        payment_method="pix",
    )
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 201, response.json
    order = response.json
    assert response.headers["Location"].endswith(f"/orders/{order['id']}")
    assert order["status"] == "pending" and order["total"] == "60.80"
    assert order["created_by"] == 10 and order["payment_method"] == "pix"
    lines = {line["product_id"]: line for line in order["items"]}
    assert lines[keyboard["id"]] == {
        "product_id": keyboard["id"],
        "quantity": 2,
        "product_name": keyboard["name"],
        "category_id": category,
        "unit_price": "30.25",
        "line_total": "60.50",
    }
    assert lines[mouse["id"]]["line_total"] == "0.30"
    assert [entry["status"] for entry in order["history"]] == ["pending"]
    assert order["history"][0]["by"] == 10
    assert stock_of(inventory, keyboard["id"]) == {"on_hand": 5, "reserved": 2, "available": 3}
    assert reservations(inventory) == [(order["id"], "reserved")]


def test_lines_of_the_same_product_add_up(client, user, make_client, make_product, inventory):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1), (product["id"], 2))
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 201
    assert [(line["product_id"], line["quantity"]) for line in response.json["items"]] == [
        (product["id"], 3)
    ]
    assert stock_of(inventory, product["id"])["reserved"] == 3


def test_lines_of_one_product_adding_up_past_a_lines_bound_are_a_422_naming_items(
    client, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1_000_000), (product["id"], 1))
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {
        "items": [
            f"The lines of product {product['id']} add up to 1000001: at most 1000000 of a product."
        ]
    }
    assert stored_orders(client.application) == [] and reservations(inventory) == []
    placed = client.post("/orders", json=order_body(buyer["id"], (product["id"], 1)), headers=user)
    assert placed.status_code == 201, placed.json
    edit = {"items": [{"product_id": product["id"], "quantity": 600_000}] * 2}
    edited = client.patch(f"/orders/{placed.json['id']}", json=edit, headers=user)
    assert edited.status_code == 422 and list(edited.json["errors"]) == ["items"]


def test_an_unknown_client_is_a_422_naming_client_id(client, user, make_product, inventory):
    product = make_product()
    response = client.post("/orders", json=order_body(999, (product["id"], 1)), headers=user)
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["client_id"]
    assert stored_orders(client.application) == [] and reservations(inventory) == []


def test_unknown_and_inactive_products_are_a_422_naming_them(
    client, user, make_client, make_product, inventory
):
    buyer, retired = make_client(), make_product(active=False)
    body = order_body(buyer["id"], (retired["id"], 1), (4242, 1))
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 422
    assert response.json["errors"]["items"] == [
        f"Product {retired['id']} is not active.",
        "Product 4242 does not exist.",
    ]
    assert stored_orders(client.application) == []


def test_an_address_of_another_client_is_a_422(client, user, make_client, make_product):
    buyer, other, product = make_client(), make_client(address=True), make_product()
    body = order_body(buyer["id"], (product["id"], 1), shipping_address_id=other["address_id"])
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["shipping_address_id"]


def test_an_unknown_payment_method_and_empty_items_are_422(client, user, make_client):
    buyer = make_client()
    body = {"client_id": buyer["id"], "items": [], "payment_method": "cheque"}
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"items", "payment_method"}


def test_not_enough_stock_is_a_409_naming_the_short_lines_and_keeps_nothing(
    client, user, make_client, make_product, inventory
):
    buyer, plenty, scarce = make_client(), make_product(stock=10), make_product(stock=1)
    body = order_body(buyer["id"], (plenty["id"], 2), (scarce["id"], 3))
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 409
    assert response.json["short"] == [{"product_id": scarce["id"], "requested": 3, "available": 1}]
    assert stored_orders(client.application) == [] and reservations(inventory) == []
    assert stock_of(inventory, plenty["id"])["reserved"] == 0


def test_a_total_over_what_money_holds_is_a_422_naming_items_and_keeps_nothing(
    client, user, make_client, make_product, inventory
):
    buyer, dear = make_client(), make_product(price="9999999999.99")
    response = client.post("/orders", json=order_body(buyer["id"], (dear["id"], 2)), headers=user)
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["items"]
    assert stored_orders(client.application) == [] and reservations(inventory) == []
    placed = client.post("/orders", json=order_body(buyer["id"], (dear["id"], 1)), headers=user)
    assert placed.status_code == 201
    grown = client.patch(
        f"/orders/{placed.json['id']}",
        json={"items": [{"product_id": dear["id"], "quantity": 2}]},
        headers=user,
    )
    assert grown.status_code == 422 and list(grown.json["errors"]) == ["items"]
    assert stock_of(inventory, dear["id"])["reserved"] == 1


def test_twenty_concurrent_orders_for_five_units_make_exactly_five(
    client, served, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1))
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(lambda _: post_json(f"{served.base_url}/orders", body, user), range(20))
        )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] * 5 + [409] * 15
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 5, "available": 0}
    assert [status for _, status in stored_orders(client.application)] == ["pending"] * 5
    assert len(reservations(inventory)) == 5


# --- Idempotency-Key ---


def test_the_same_key_and_body_answers_the_first_answer(
    client, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1))
    headers = {**user, "Idempotency-Key": "compra-1"}
    first = client.post("/orders", json=body, headers=headers)
    again = client.post("/orders", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Location"] == first.headers["Location"]
    assert len(stored_orders(client.application)) == 1
    assert stock_of(inventory, product["id"])["reserved"] == 1


def test_the_same_key_with_another_body_is_a_409(client, user, make_client, make_product):
    buyer, product = make_client(), make_product(stock=5)
    headers = {**user, "Idempotency-Key": "compra-2"}
    first = client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], 1)), headers=headers
    )
    other = client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=headers
    )
    assert other.status_code == 409 and other.json["key_reused"] is True
    # It names what the key made, so a form sent again changed can show it; /orders has no path
    # arguments, so only the body can differ.
    assert other.json["resource_id"] == first.json["id"]
    assert other.json["detail"] == "This Idempotency-Key was used with another body"
    assert len(stored_orders(client.application)) == 1


def test_a_key_longer_than_255_characters_is_a_422(client, user, make_client, make_product):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1))
    response = client.post("/orders", json=body, headers={**user, "Idempotency-Key": "k" * 256})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["Idempotency-Key"]
    assert stored_orders(client.application) == []


def test_keys_are_scoped_to_the_user(client, user, stranger, make_client, make_product):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1))
    mine = client.post("/orders", json=body, headers={**user, "Idempotency-Key": "k"})
    theirs = client.post("/orders", json=body, headers={**stranger, "Idempotency-Key": "k"})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json["id"] != theirs.json["id"]


def test_a_key_older_than_a_day_is_forgotten(client, user, make_client, make_product):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1))
    headers = {**user, "Idempotency-Key": "old"}
    first = client.post("/orders", json=body, headers=headers)
    with client.application.app_context():
        db.session.execute(
            update(IdempotencyKey).values(
                created_at=IdempotencyKey.created_at - timedelta(hours=25)
            )
        )
        db.session.commit()
    again = client.post("/orders", json=body, headers=headers)
    assert again.status_code == 201 and again.json["id"] != first.json["id"]


def test_two_concurrent_requests_with_one_key_make_one_order(
    client, served, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=50)
    body = order_body(buyer["id"], (product["id"], 1))
    headers = {**user, "Idempotency-Key": "at-once"}
    start = threading.Barrier(8)

    def place(_):
        start.wait()
        return post_json(f"{served.base_url}/orders", body, headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(place, range(8)))
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len(stored_orders(client.application)) == 1
    assert stock_of(inventory, product["id"])["reserved"] == 1


def test_a_refused_order_does_not_hold_its_key(client, user, make_client, make_product, inventory):
    """The console keeps the key after a refusal ("Estoque insuficiente"), and the user corrects
    the quantity and sends again under it: a key still held would answer that another body is
    a reuse of the key."""
    buyer, product = make_client(), make_product(stock=1)
    headers = {**user, "Idempotency-Key": "retry-later"}
    too_many = order_body(buyer["id"], (product["id"], 2))
    assert client.post("/orders", json=too_many, headers=headers).status_code == 409
    with client.application.app_context():
        assert db.session.scalars(select(IdempotencyKey)).all() == []
        db.session.remove()
    corrected = order_body(buyer["id"], (product["id"], 1))
    placed = client.post("/orders", json=corrected, headers=headers)
    assert placed.status_code == 201, placed.json
    assert stock_of(inventory, product["id"])["reserved"] == 1


# --- a dependency that is down ---


def test_inventory_down_is_a_503_and_leaves_no_order_and_no_reservation(
    client, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1))
    inventory.stop()
    try:
        response = client.post("/orders", json=body, headers=user)
        assert response.status_code == 503
        listed = client.get("/orders", headers=user).json
        assert listed["total"] == 0
    finally:
        inventory.start()
    # The abandoned order's release reaches inventory through the outbox, and the sweeper
    # removes the row once no request can still be on its way.
    relay(client.application)
    with client.application.app_context():
        assert orders.sweep(timedelta(0)) == 1
    assert stored_orders(client.application) == []
    # Inventory keeps the order's id as released, holding nothing: a reserve that arrives late
    # (the request's retry) is answered `released` and reserves nothing.
    assert [status for _, status in reservations(inventory)] == ["released"]
    assert stock_of(inventory, product["id"])["reserved"] == 0


def test_a_reservation_whose_answer_was_lost_is_asked_again_and_the_order_placed_once(
    client, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=5)
    app = client.application
    with losing_the_first_answer(inventory.base_url) as (proxy, seen):
        urls = {**app.config["SERVICE_URLS"], "inventory": proxy}
        # The suite's clients never retry (HTTP_RETRIES=0); the stack's do (2), as here.
        with rewired(app, SERVICE_URLS=urls, HTTP_RETRIES=1):
            response = client.post(
                "/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user
            )
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending"
    # Inventory reserved on the first call and answered the second with that same reservation.
    assert seen == ["/inventory/reservations 201"] * 2
    assert reservations(inventory) == [(response.json["id"], "reserved")]
    assert stock_of(inventory, product["id"])["reserved"] == 2


def test_a_reservation_made_by_an_order_that_never_became_pending_is_released(
    client, user, make_client, make_product, inventory
):
    """The process died between inventory's answer and marking the order pending: the sweeper
    finds the `reserving` order and inventory hears `order.abandoned`."""
    buyer, product = make_client(), make_product(stock=5)
    response = client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user
    )
    order_id = response.json["id"]
    from services.orders.models import Order

    with client.application.app_context():
        db.session.execute(update(Order).values(status="reserving"))
        db.session.commit()
        assert orders.sweep(timedelta(0)) == 1
    relay(client.application)
    assert stored_orders(client.application) == []
    assert reservations(inventory) == [(order_id, "released")]
    assert stock_of(inventory, product["id"])["reserved"] == 0


def test_clients_down_is_a_503_and_keeps_nothing(
    client, user, make_client, make_product, clients, inventory
):
    from services.kit.testing import LiveServer

    buyer, product = make_client(), make_product(stock=5)
    port = clients.port
    clients.stop()
    try:
        response = client.post(
            "/orders", json=order_body(buyer["id"], (product["id"], 1)), headers=user
        )
        assert response.status_code == 503
    finally:
        clients.httpd = LiveServer(clients.app, port).httpd
        clients.start()
    assert stored_orders(client.application) == [] and reservations(inventory) == []


def test_the_relay_loop_sweeps_orders_that_never_became_pending(
    client, user, make_client, make_product, inventory
):
    """The sweeper runs as a chore of orders-relay: the loop both sweeps and delivers."""
    from services.orders.models import Order, outbox

    buyer, product = make_client(), make_product(stock=5)
    client.post("/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user)
    with client.application.app_context():
        db.session.execute(
            update(Order).values(
                status="reserving", updated_at=Order.updated_at - timedelta(hours=1)
            )
        )
        db.session.commit()

    class Stop(BaseException):
        """Ends the endless loop once the chores before it have run."""

    def stop():
        raise Stop

    outbox.chores.append([0.0, stop])
    try:
        with client.application.app_context(), pytest.raises(Stop):
            outbox.run_relay()
    finally:
        outbox.chores.pop()
    relay(client.application)
    assert stored_orders(client.application) == []
    assert stock_of(inventory, product["id"])["reserved"] == 0
