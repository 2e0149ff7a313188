"""Every step of an order tells notifications: `order.paid`, `order.shipped`, `order.delivered`
and `order.cancelled` carry {order_id, client_id, total, status, note} (paid and cancelled also
their lines), in the transaction that moves the order, whoever moves it (an admin, or payments'
events)."""

import pytest

from services.kit.testing import deliver

from .conftest import order_body
from .test_payment_events import emitted


@pytest.fixture
def placed(client, user, make_client, make_product):
    """A pending order of 2 units at 10.00, placed by user 10."""
    buyer, product = make_client(), make_product(stock=5, price="10.00")
    response = client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user
    )
    assert response.status_code == 201
    return response.json


def step(client, order_id, status, admin, note=None):
    body = {"status": status, **({"note": note} if note else {})}
    response = client.post(f"/orders/{order_id}/status", json=body, headers=admin)
    assert response.status_code == 200, response.json
    return response.json


def facts(order, status, note=None):
    return {
        "order_id": order["id"],
        "client_id": order["client_id"],
        "total": "20.00",
        "status": status,
        "note": note,
    }


def paid_facts(order, note=None, payment_id=None):
    """`order.paid`'s facts, its lines for products' units sold, and the payment that paid it
    (null: by hand) for payments."""
    return {
        **facts(order, "paid", note),
        "items": [{"product_id": order["items"][0]["product_id"], "quantity": 2}],
        "payment_id": payment_id,
    }


def without_paid_at(events):
    for event in events:
        assert event.pop("paid_at")
    return events


def test_each_step_an_admin_takes_emits_its_event_with_the_client_total_and_note(
    client, admin, placed
):
    step(client, placed["id"], "paid", admin)
    step(client, placed["id"], "shipped", admin, note="Rastreio BR123456789BR")
    step(client, placed["id"], "delivered", admin)
    app = client.application
    # Marked paid by hand: no payment of payments' paid it.
    assert without_paid_at(emitted(app, "order.paid")) == [paid_facts(placed, payment_id=None)]
    assert emitted(app, "order.shipped") == [facts(placed, "shipped", "Rastreio BR123456789BR")]
    [delivered] = emitted(app, "order.delivered")
    # inventory's holdings still get the items.
    assert delivered.pop("items")[0]["quantity"] == 2
    assert delivered == facts(placed, "delivered")


def test_an_order_paid_by_payments_emits_order_paid_noting_the_payment(client, placed):
    answer = deliver(
        client.application,
        "payment.succeeded",
        {"payment_id": 7, "order_id": placed["id"], "amount": "20.00"},
    )
    assert answer.json["status"] == "processed"
    assert without_paid_at(emitted(client.application, "order.paid")) == [
        paid_facts(placed, "payment 7", payment_id=7)
    ]


def test_an_unpaid_pix_expired_emits_order_cancelled_noting_it(client, placed):
    deliver(client.application, "payment.expired", {"payment_id": 7, "order_id": placed["id"]})
    [cancelled] = emitted(client.application, "order.cancelled")
    assert cancelled == {
        **facts(placed, "cancelled", "PIX expired"),
        "previous_status": "pending",
        "items": [{"product_id": placed["items"][0]["product_id"], "quantity": 2}],
    }


def test_a_refused_step_emits_nothing(client, admin, placed):
    response = client.post(
        f"/orders/{placed['id']}/status", json={"status": "shipped"}, headers=admin
    )
    assert response.status_code == 409
    assert emitted(client.application, "order.shipped") == []
