"""A refund reaches the order it was paid for (the real orders): an admin refunds a card payment in
full, orders records it and will not ship the order, and the order is cancelled instead; payments,
hearing `order.cancelled`, finds nothing left to give back and refunds nothing more."""

import time

from sqlalchemy import func, select

from services.kit.testing import deliver
from services.orders.models import db as orders_db
from services.orders.models import outbox as orders_outbox
from services.payments.models import Refund, db

from .conftest import emitted, relay
from .test_failed_refunds import fail_at_the_provider, refund_refs
from .test_paying import pay


def orders_emitted(orders, event_type: str) -> list[dict]:
    with orders.app.app_context():
        rows = orders_db.session.scalars(
            select(orders_outbox.Event.payload).where(orders_outbox.Event.type == event_type)
        ).all()
        orders_db.session.remove()
        return [row["data"] for row in rows]


def refunds_made(app) -> int:
    with app.app_context():
        made = db.session.scalar(select(func.count()).select_from(Refund))
        db.session.remove()
        return made


def test_an_order_refunded_in_full_does_not_ship_and_its_cancel_refunds_nothing_more(
    client, user, admin, order, orders, app
):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    relay(app)
    refunded = client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin)
    assert refunded.json["status"] == "refunded", refunded.json
    relay(app)
    shop = orders.app.test_client()
    url = f"/orders/{placed['id']}"
    shown = shop.get(url, headers=admin).json
    assert (shown["status"], shown["refunded_amount"]) == ("paid", "60.50")
    shipped = shop.post(f"{url}/status", json={"status": "shipped"}, headers=admin)
    assert shipped.status_code == 409, shipped.json

    cancelled = shop.post(f"{url}/status", json={"status": "cancelled"}, headers=admin)
    assert cancelled.status_code == 200, cancelled.json
    [event] = orders_emitted(orders, "order.cancelled")
    assert deliver(app, "order.cancelled", event).json["status"] == "processed"
    # The provider's charge.refunded webhook may still come: it counts nothing twice either.
    time.sleep(0.5)
    after = client.get(f"/payments/{payment['id']}", headers=admin).json
    assert (after["status"], after["refunded_amount"]) == ("refunded", "60.50")
    assert refunds_made(app) == 1
    assert [e["full"] for e in emitted(app, "payment.refunded")] == [True]


def test_a_full_refund_that_fails_at_the_provider_lets_the_order_ship_again(
    client, user, admin, order, orders, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"], payment_method="pm_card_refundFail").json
    relay(app)
    assert (
        client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin).status_code == 200
    )
    relay(app)
    shop = orders.app.test_client()
    url = f"/orders/{placed['id']}"
    assert shop.post(f"{url}/status", json={"status": "shipped"}, headers=admin).status_code == 409
    [ref] = refund_refs(app, payment["id"])

    fail_at_the_provider(client, admin, standin, payment["id"], ref)
    relay(app)

    shown = shop.get(url, headers=admin).json
    assert (shown["payment_id"], shown["refunded_amount"]) == (payment["id"], "0.00")
    shipped = shop.post(f"{url}/status", json={"status": "shipped"}, headers=admin)
    assert shipped.status_code == 200, shipped.json
