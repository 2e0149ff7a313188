"""What payments' events do to orders: `payment.succeeded` pays a pending order of that total
(recording that payment and its method), `payment.expired` cancels it and gives its stock back,
`payment.refunded` of the payment that paid it records what went back (all of it: the order does
not ship); every cancellation says `order.cancelled`; the history names "payments" as who did
it."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from services.kit.testing import deliver
from services.orders.models import Order, db

from .conftest import order_body, relay, stock_of


@pytest.fixture
def placed(client, user, make_client, make_product):
    """A pending order of 2 units at 10.00 (5 in stock), placed by user 10."""
    buyer, product = make_client(), make_product(stock=5, price="10.00")
    response = client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user
    )
    assert response.status_code == 201
    return {"order": response.json, "product": product}


def order_of(client, order_id, headers):
    response = client.get(f"/orders/{order_id}", headers=headers)
    assert response.status_code == 200
    return response.json


def pay(client, order, amount="20.00", payment_id=7, event_id=None, method="pix"):
    """payments' `payment.succeeded` for the order, as its relay delivers it."""
    data = {"payment_id": payment_id, "order_id": order["id"], "amount": amount, "method": method}
    return deliver(client.application, "payment.succeeded", data, event_id)


VERSIONS = itertools.count(1)


def refund(client, order, refunded, payment_id=7, amount=None, total="20.00", version=None):
    """payments' `payment.refunded`: `refunded` in all of the payment so far, `amount` this
    refund's part (all of it unless said), `version` the payment's `updated_at` (ISO; unless
    said, later than any sent before)."""
    if version is None:
        version = datetime(2026, 12, 11, tzinfo=UTC) + timedelta(seconds=next(VERSIONS))
        version = version.isoformat()
    data = {
        "payment_id": payment_id,
        "order_id": order["id"],
        "amount": amount or refunded,
        "refunded_amount": refunded,
        "full": refunded == total,
        "version": version,
    }
    answer = deliver(client.application, "payment.refunded", data)
    assert answer.json["status"] == "processed", answer.json
    return answer


def move(client, order, status, headers):
    return client.post(f"/orders/{order['id']}/status", json={"status": status}, headers=headers)


def emitted(app, event_type):
    from services.orders.models import db, outbox

    with app.app_context():
        rows = db.session.scalars(
            db.select(outbox.Event.payload).where(outbox.Event.type == event_type)
        ).all()
        db.session.remove()
        return [row["data"] for row in rows]


def test_payment_succeeded_for_the_total_makes_the_pending_order_paid_by_payments(
    client, user, placed
):
    order = placed["order"]
    answer = pay(client, order)
    assert answer.json["status"] == "processed"
    paid = order_of(client, order["id"], user)
    assert paid["status"] == "paid"
    assert [(entry["status"], entry["by"]) for entry in paid["history"]] == [
        ("pending", 10),
        ("paid", "payments"),
    ]


def test_payment_succeeded_redelivered_records_one_step(client, user, placed):
    order, event_id = placed["order"], str(uuid.uuid4())
    assert pay(client, order, event_id=event_id).status_code == 200
    again = pay(client, order, event_id=event_id)
    assert again.json["status"] == "duplicate"
    assert len(order_of(client, order["id"], user)["history"]) == 2


def test_payment_of_another_amount_leaves_the_order_pending(client, user, placed):
    order = placed["order"]
    pay(client, order, "19.99")
    assert order_of(client, order["id"], user)["status"] == "pending"


def test_payment_succeeded_for_a_cancelled_order_changes_nothing(client, user, admin, placed):
    order = placed["order"]
    cancelled = client.post(
        f"/orders/{order['id']}/status", json={"status": "cancelled"}, headers=user
    )
    assert cancelled.status_code == 200
    pay(client, order)
    assert order_of(client, order["id"], admin)["status"] == "cancelled"


def test_payment_expired_cancels_the_pending_order_and_releases_its_stock(
    client, user, placed, inventory
):
    order, product = placed["order"], placed["product"]
    assert stock_of(inventory, product["id"])["reserved"] == 2
    deliver(client.application, "payment.expired", {"payment_id": 7, "order_id": order["id"]})
    cancelled = order_of(client, order["id"], user)
    assert cancelled["status"] == "cancelled"
    assert cancelled["history"][-1] == {
        **cancelled["history"][-1],
        "status": "cancelled",
        "by": "payments",
        "note": "PIX expired",
    }
    assert emitted(client.application, "order.cancelled") == [
        {
            "order_id": order["id"],
            "client_id": order["client_id"],
            "total": "20.00",
            "status": "cancelled",
            "note": "PIX expired",
            "previous_status": "pending",
            "items": [{"product_id": product["id"], "quantity": 2}],
        }
    ]
    # The release travels through the outbox to inventory.
    assert relay(client.application) >= 1
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 0, "available": 5}


def test_payment_expired_for_a_paid_order_changes_nothing(client, admin, placed):
    order = placed["order"]
    assert (
        client.post(
            f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin
        ).status_code
        == 200
    )
    deliver(client.application, "payment.expired", {"payment_id": 7, "order_id": order["id"]})
    assert order_of(client, order["id"], admin)["status"] == "paid"
    assert emitted(client.application, "order.cancelled") == []


def test_every_cancellation_emits_order_cancelled_with_the_status_it_left(client, admin, placed):
    order = placed["order"]
    client.post(f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin)
    cancelled = client.post(
        f"/orders/{order['id']}/status", json={"status": "cancelled"}, headers=admin
    )
    assert cancelled.status_code == 200
    assert emitted(client.application, "order.cancelled") == [
        {
            "order_id": order["id"],
            "client_id": order["client_id"],
            "total": "20.00",
            "status": "cancelled",
            "note": None,
            "previous_status": "paid",
            "items": [{"product_id": placed["product"]["id"], "quantity": 2}],
        }
    ]


def test_a_payment_event_it_cannot_read_is_rejected_once(client, user, placed):
    order = placed["order"]
    answer = pay(client, order, "lots")
    assert answer.json["status"] == "rejected"
    assert order_of(client, order["id"], user)["status"] == "pending"


def test_a_payment_event_whose_value_fails_only_when_written_is_rejected_not_a_500(
    client, user, placed
):
    order = placed["order"]
    # Read, the order found and the amount its total; the history's note naming the payment is
    # longer than its column, which only the write (the session's flush) finds.
    answer = pay(client, order, payment_id=10**600)
    assert answer.status_code == 200 and answer.json["status"] == "rejected"
    assert order_of(client, order["id"], user)["status"] == "pending"
    assert emitted(client.application, "order.paid") == []


def test_the_paying_payment_and_its_method_are_recorded_on_the_order(
    client, user, make_client, make_product
):
    buyer, product = make_client(), make_product(price="10.00")
    body = order_body(buyer["id"], (product["id"], 2), payment_method="boleto")
    order = client.post("/orders", json=body, headers=user).json
    pay(client, order, payment_id=31, method="card")
    with client.application.app_context():
        stored = db.session.get(Order, order["id"])
        assert (stored.payment_id, stored.payment_method) == (31, "credit_card")
        db.session.remove()
    assert order_of(client, order["id"], user)["refunded_amount"] == "0.00"


def test_a_card_payment_keeps_the_debit_card_the_order_named(
    client, user, make_client, make_product
):
    buyer, product = make_client(), make_product(price="10.00")
    body = order_body(buyer["id"], (product["id"], 2), payment_method="debit_card")
    order = client.post("/orders", json=body, headers=user).json
    pay(client, order, method="card")
    assert order_of(client, order["id"], user)["payment_method"] == "debit_card"


def test_a_full_refund_of_the_paying_payment_is_recorded_and_the_order_then_does_not_ship(
    client, admin, placed
):
    order = placed["order"]
    pay(client, order)
    refund(client, order, "20.00")
    refunded = order_of(client, order["id"], admin)
    assert (refunded["status"], refunded["refunded_amount"]) == ("paid", "20.00")
    shipped = move(client, order, "shipped", admin)
    assert shipped.status_code == 409
    assert shipped.json["detail"] == (
        f"Order {order['id']}'s payment was refunded in full: cancel it, it cannot ship"
    )
    assert shipped.json["current_status"] == "paid"
    assert order_of(client, order["id"], admin)["status"] == "paid"
    assert emitted(client.application, "order.shipped") == []


def test_an_order_whose_payment_was_refunded_in_full_can_still_be_cancelled(
    client, admin, placed, inventory
):
    order, product = placed["order"], placed["product"]
    pay(client, order)
    refund(client, order, "20.00")
    cancelled = move(client, order, "cancelled", admin)
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled"
    relay(client.application)
    assert stock_of(inventory, product["id"])["reserved"] == 0


def test_a_partial_refund_is_recorded_and_the_order_still_ships(client, admin, placed):
    order = placed["order"]
    pay(client, order)
    refund(client, order, "5.00")
    assert order_of(client, order["id"], admin)["refunded_amount"] == "5.00"
    shipped = move(client, order, "shipped", admin)
    assert shipped.status_code == 200, shipped.json
    assert (shipped.json["status"], shipped.json["refunded_amount"]) == ("shipped", "5.00")


def test_a_refund_of_a_payment_that_did_not_pay_the_order_leaves_it_alone(client, admin, placed):
    order = placed["order"]
    pay(client, order, payment_id=7)
    # Payment 8 was let go of when 7 paid the order: payments refunded it in full.
    refund(client, order, "20.00", payment_id=8)
    left = order_of(client, order["id"], admin)
    assert (left["status"], left["refunded_amount"]) == ("paid", "0.00")
    assert move(client, order, "shipped", admin).status_code == 200


def test_a_refund_of_an_order_marked_paid_by_hand_leaves_it_alone(client, admin, placed):
    order = placed["order"]
    assert move(client, order, "paid", admin).status_code == 200
    refund(client, order, "20.00", payment_id=7)
    assert order_of(client, order["id"], admin)["refunded_amount"] == "0.00"


EARLIER, LATER = "2026-12-11T10:00:00.000001+00:00", "2026-12-11T10:00:05+00:00"


def test_a_refund_heard_before_the_success_that_pays_the_order_is_shown_and_it_does_not_ship(
    client, admin, placed
):
    # The success waited its retry's backoff; the refund made meanwhile came first.
    order = placed["order"]
    refund(client, order, "20.00", version=EARLIER)
    assert order_of(client, order["id"], admin)["refunded_amount"] == "0.00"
    pay(client, order)
    paid = order_of(client, order["id"], admin)
    assert (paid["status"], paid["payment_id"], paid["refunded_amount"]) == ("paid", 7, "20.00")
    assert move(client, order, "shipped", admin).status_code == 409


def test_a_refund_that_failed_lowers_what_went_back_and_the_order_ships_again(
    client, admin, placed
):
    order = placed["order"]
    pay(client, order)
    refund(client, order, "20.00", version=EARLIER)
    assert move(client, order, "shipped", admin).status_code == 409
    # The refund failed at the provider: payments' total fell back, in a newer event.
    refund(client, order, "0.00", amount="-20.00", version=LATER)
    assert order_of(client, order["id"], admin)["refunded_amount"] == "0.00"
    shipped = move(client, order, "shipped", admin)
    assert shipped.status_code == 200, shipped.json


def test_an_older_refund_event_delivered_after_a_newer_one_changes_nothing(client, admin, placed):
    order = placed["order"]
    pay(client, order)
    refund(client, order, "0.00", amount="-20.00", version=LATER)
    # The full refund's own event, retried, comes after the failure that undid it.
    refund(client, order, "20.00", version=EARLIER)
    assert order_of(client, order["id"], admin)["refunded_amount"] == "0.00"
    assert move(client, order, "shipped", admin).status_code == 200


def test_a_negative_or_unversioned_refund_is_rejected_and_changes_nothing(client, admin, placed):
    """payments never sends either: one is the sender's mistake, refused (logged), not taken nor
    retried for ever against the table's check."""
    order = placed["order"]
    pay(client, order)
    refund(client, order, "5.00")
    base = {"payment_id": 7, "order_id": order["id"], "amount": "1.00", "full": False}
    for data in (
        {**base, "refunded_amount": "-1.00", "version": LATER},
        {**base, "refunded_amount": "6.00"},
    ):
        answer = deliver(client.application, "payment.refunded", data)
        assert answer.json["status"] == "rejected", answer.json
    assert order_of(client, order["id"], admin)["refunded_amount"] == "5.00"


def test_the_order_names_the_payment_that_paid_it(client, user, placed):
    order = placed["order"]
    assert order["payment_id"] is None
    assert order_of(client, order["id"], user)["payment_id"] is None
    pay(client, order, payment_id=55)
    assert order_of(client, order["id"], user)["payment_id"] == 55


def test_the_migration_names_the_payment_that_paid_each_order_from_its_history(client, app):
    """Orders paid before orders recorded the payment: the `paid` line payments wrote names it;
    one an admin marked paid keeps none."""
    history = {
        1: [("paid", None, "payments", "payment 76"), ("paid", None, "payments", "payment 77")],
        2: [("paid", 1, None, "payment 78")],
        3: [("pending", 10, None, None)],
    }
    with app.app_context():
        db.session.remove()
        downgrade(revision="b8f2d5e9c1a7")
        try:
            for order_id, lines in history.items():
                db.session.execute(
                    text(
                        "INSERT INTO orders.orders (id, client_id, status, total, created_by) "
                        "VALUES (:id, 42, :status, 20.00, 10)"
                    ),
                    {"id": order_id, "status": lines[-1][0]},
                )
                for status, by, by_service, note in lines:
                    db.session.execute(
                        text(
                            "INSERT INTO orders.order_history (order_id, status, by, by_service, "
                            "note) VALUES (:order_id, :status, :by, :by_service, :note)"
                        ),
                        {
                            "order_id": order_id,
                            "status": status,
                            "by": by,
                            "by_service": by_service,
                            "note": note,
                        },
                    )
            db.session.commit()
        finally:
            db.session.remove()
            upgrade()
        paid_by = dict(db.session.execute(db.select(Order.id, Order.payment_id)).all())
        db.session.remove()
    assert paid_by == {1: 77, 2: None, 3: None}
