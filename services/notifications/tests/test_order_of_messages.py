"""The client hears of an order's steps in the order they came: a message waits while an older one
of its order is still queued (being sent by another sender, or to be tried again after a 429),
never for ever (a failed or given-up one holds nothing back), and never for another order's."""

import requests
from sqlalchemy import select

from services.notifications.models import Notification, db

from .conftest import (
    PHONE,
    due_now,
    eventually,
    order_event,
    rows,
    send_due,
    send_one,
    sent_templates,
)


def paid_then_cancelled(app, make_client, order_id: int = 301) -> None:
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.paid", order_id, buyer["id"])
    order_event(app, "order.cancelled", order_id, buyer["id"])


def test_a_paid_message_tried_again_after_a_429_still_goes_before_the_cancel(
    client, app, standin, make_client, monkeypatch
):
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_BASE_S", 10)
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 429, "count": 1}, timeout=5)
    paid_then_cancelled(app, make_client)
    # The paid one's 429: it is tried again in 10 s; the cancel, due now, waits behind it.
    assert send_due(app) == 1
    assert sent_templates(standin) == []
    due_now(app)
    assert send_due(app) == 2
    assert sent_templates(standin) == ["order_paid", "order_cancelled"]


def test_a_message_waits_while_another_sender_is_sending_an_older_one_of_its_order(
    client, app, standin, make_client
):
    paid_then_cancelled(app, make_client)
    with app.app_context(), db.engine.connect() as other_sender:
        # The other sender has taken the paid one and is sending it.
        other_sender.execute(
            select(Notification.id)
            .where(Notification.template == "order_paid")
            .with_for_update(skip_locked=True)
        ).one()
        assert send_one(app) is False
        other_sender.rollback()
    assert send_due(app) == 2
    assert sent_templates(standin) == ["order_paid", "order_cancelled"]


def test_an_older_message_given_up_on_holds_the_next_back_no_longer(
    client, app, standin, make_client
):
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 503, "count": 3}, timeout=5)
    paid_then_cancelled(app, make_client)
    assert eventually(lambda: send_due(app) == 0 and sent_templates(standin))
    paid, cancelled = rows(app)
    assert (paid.status, paid.attempts) == ("failed", app.config["NOTIFY_MAX_ATTEMPTS"])
    assert cancelled.status in ("sent", "delivered", "read")
    assert sent_templates(standin) == ["order_cancelled"]


def test_another_orders_message_is_not_held_back(client, app, standin, make_client, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_BASE_S", 10)
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 429, "count": 1}, timeout=5)
    paid_then_cancelled(app, make_client, order_id=301)
    order_event(app, "order.shipped", 302, rows(app)[0].client_id)
    assert send_due(app) == 2
    assert sent_templates(standin) == ["order_shipped"]
