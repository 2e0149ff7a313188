"""A client never hears of an order's earlier step after a later one: orders' relay retries a
failed delivery with its own backoff, and a later event can overtake it, so `order.shipped` may
come after `order.delivered` and `order.paid` after `order.shipped`. The late one is never sent
but `failed` ("superseded: the order was …"); in the order they happened, both are told."""

import requests

from services.notifications import notifications

from .conftest import PHONE, by_template, due_now, order_event, send_due, sent_templates


def test_a_shipped_coming_after_delivered_is_never_sent(client, app, standin, make_client):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.delivered", 501, buyer["id"])
    assert send_due(app) == 1
    order_event(app, "order.shipped", 501, buyer["id"])
    send_due(app)
    assert sent_templates(standin) == ["order_delivered"]
    late = by_template(app)["order_shipped"]
    assert (late.status, late.error) == ("failed", "superseded: the order was delivered")
    assert late.attempts == 0


def test_a_paid_coming_after_shipped_is_never_sent(client, app, standin, make_client):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.shipped", 502, buyer["id"])
    order_event(app, "order.paid", 502, buyer["id"])
    send_due(app)
    assert sent_templates(standin) == ["order_shipped"]
    late = by_template(app)["order_paid"]
    assert (late.status, late.error) == ("failed", "superseded: the order was shipped")


def test_a_shipped_queued_unaware_of_a_delivered_waiting_after_a_429_is_superseded_when_sent(
    client, app, standin, make_client, monkeypatch
):
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_BASE_S", 10)
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 429, "count": 1}, timeout=5)
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.delivered", 503, buyer["id"])
    # The delivered one's 429: it is tried again in 10 s, still queued.
    assert send_due(app) == 1
    with monkeypatch.context() as receiver:
        # A second receiver that looked before the delivered one was committed.
        receiver.setattr(notifications, "_superseded", lambda *_: None)
        order_event(app, "order.shipped", 503, buyer["id"])
    assert by_template(app)["order_shipped"].status == "queued"
    due_now(app)
    send_due(app)
    assert sent_templates(standin) == ["order_delivered"]
    late = by_template(app)["order_shipped"]
    assert (late.status, late.error) == ("failed", "superseded: the order was delivered")


def test_shipped_then_delivered_are_both_sent_in_that_order(client, app, standin, make_client):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.paid", 504, buyer["id"])
    order_event(app, "order.shipped", 504, buyer["id"])
    order_event(app, "order.delivered", 504, buyer["id"])
    assert send_due(app) == 3
    assert sent_templates(standin) == ["order_paid", "order_shipped", "order_delivered"]


def test_a_superseded_shipped_is_refused_a_retry(client, app, standin, make_client, admin):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.delivered", 505, buyer["id"])
    order_event(app, "order.shipped", 505, buyer["id"])
    late = by_template(app)["order_shipped"]
    answer = client.post(f"/notifications/{late.id}/retry", headers=admin)
    assert answer.status_code == 409
    assert answer.json["detail"] == (
        f"Notification {late.id} will not be sent: the order was delivered"
    )
    stays = by_template(app)["order_shipped"]
    assert (stays.status, stays.error) == ("failed", "superseded: the order was delivered")
