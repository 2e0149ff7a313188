"""A request killed at any step of placing an order, then retried with the same Idempotency-Key:
one order, one reservation, the stock reserved once; and the sweeper's backlog."""

from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from services.kit import utcnow
from services.kit.failpoints import Crash
from services.kit.testing import from_service
from services.orders import orders
from services.orders.models import Order, db

from .conftest import order_body, relay, reservations, stock_of, stored_orders

STEPS = [
    "orders.reserving_committed",
    "orders.inventory_reserved",
    "orders.pending_committed",
    "idempotency.answered",
]


def crash_at(client, step, body, headers):
    """The request dies at `step`, as a killed worker would: no answer, its transaction lost."""
    client.application.config["FAILPOINTS"] = {step}
    try:
        with pytest.raises(Crash):
            client.post("/orders", json=body, headers=headers)
    finally:
        client.application.config.pop("FAILPOINTS")


@pytest.mark.parametrize("step", STEPS)
def test_a_retry_after_a_crash_makes_exactly_one_order(
    client, user, make_client, make_product, inventory, step
):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 2))
    headers = {**user, "Idempotency-Key": f"crash-{step}"}
    crash_at(client, step, body, headers)

    retried = client.post("/orders", json=body, headers=headers)
    again = client.post("/orders", json=body, headers=headers)

    assert retried.status_code == again.status_code == 201, retried.json
    order_id = retried.json["id"]
    assert retried.json["status"] == "pending"
    assert retried.headers["Location"].endswith(f"/orders/{order_id}")
    assert again.json == retried.json and again.headers["Location"] == retried.headers["Location"]
    assert stored_orders(client.application) == [(order_id, "pending")]
    assert reservations(inventory) == [(order_id, "reserved")]
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 2, "available": 3}


def test_a_retry_whose_reservation_was_released_meanwhile_places_the_order_anew(
    client, user, admin, make_client, make_product, inventory
):
    """The crashed order's reservation was given back (its `order.abandoned` arrived): it
    cannot be resumed, so it is abandoned and one new order is placed."""
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 2))
    headers = {**user, "Idempotency-Key": "released-meanwhile"}
    crash_at(client, "orders.inventory_reserved", body, headers)
    [(crashed, _)] = stored_orders(client.application)
    released = inventory.app.test_client().post(
        f"/inventory/reservations/{crashed}/release",
        headers=from_service("orders", "inventory", admin),
    )
    assert released.status_code == 200

    retried = client.post("/orders", json=body, headers=headers)

    assert retried.status_code == 201, retried.json
    placed = retried.json["id"]
    assert placed != crashed
    assert client.get("/orders", headers=user).json["total"] == 1
    assert stored_orders(client.application) == [(crashed, "abandoned"), (placed, "pending")]
    assert reservations(inventory) == [(crashed, "released"), (placed, "reserved")]
    assert stock_of(inventory, product["id"])["reserved"] == 2


def test_a_retry_after_the_sweeper_removed_the_crashed_order_places_it_anew(
    client, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 2))
    headers = {**user, "Idempotency-Key": "swept-meanwhile"}
    crash_at(client, "orders.inventory_reserved", body, headers)
    with client.application.app_context():
        assert orders.sweep(timedelta(0)) == 1
    relay(client.application)

    retried = client.post("/orders", json=body, headers=headers)

    assert retried.status_code == 201, retried.json
    assert stored_orders(client.application) == [(retried.json["id"], "pending")]
    assert stock_of(inventory, product["id"])["reserved"] == 2


def test_one_sweep_drains_a_backlog_larger_than_a_batch(client, inventory):
    """Inventory was down a while: 200 orders never became pending, and one sweep takes them
    all, batch after batch, not just the first 100."""
    long_ago = utcnow() - timedelta(hours=1)
    with client.application.app_context():
        db.session.execute(
            insert(Order),
            [
                {"client_id": 1, "status": status, "total": 0, "created_by": 10}
                for status in ["abandoned"] * 150 + ["reserving"] * 50
            ],
        )
        db.session.execute(update(Order).values(updated_at=long_ago))
        db.session.commit()
        assert orders.sweep(timedelta(seconds=60)) == 200
    assert stored_orders(client.application) == []
