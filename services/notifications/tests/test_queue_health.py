"""`/health/queue`: red while a message the sender would take has been due longer than
BACKLOG_LATE_AFTER_S (the sender is stopped or hung), named in the 503's detail; its figures as
gauges on /metrics."""

from datetime import timedelta

from sqlalchemy import update

from services.kit import utcnow
from services.notifications.models import Notification, db

from .conftest import PHONE, order_event, send_due


def due_since(app, ago: timedelta, template: str | None = None) -> None:
    with app.app_context():
        statement = update(Notification).values(next_attempt_at=utcnow() - ago)
        if template:
            statement = statement.where(Notification.template == template)
        db.session.execute(statement)
        db.session.commit()


def test_an_empty_queue_is_healthy(client):
    answer = client.get("/health/queue")
    assert answer.status_code == 200
    assert answer.json["queues"] == {"queued": {"pending": 0, "oldest_seconds": 0.0}}


def test_a_message_due_longer_than_the_threshold_means_the_sender_is_not_sending(
    client, app, make_client
):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.paid", 401, buyer["id"])
    assert client.get("/health/queue").status_code == 200
    due_since(app, timedelta(minutes=3))
    answer = client.get("/health/queue")
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert answer.json["detail"].startswith(
        "A queued message has been due longer than 120 s: queued (1 waiting, oldest due 180 s"
    )
    body = client.get("/metrics").get_data(as_text=True)
    assert "feira_notifications_queued 1.0" in body
    [oldest] = [
        line
        for line in body.splitlines()
        if line.startswith("feira_notifications_queued_oldest_seconds ")
    ]
    assert 179 < float(oldest.split()[-1]) < 240
    # The sender sends it: healthy again.
    assert send_due(app) == 1
    assert client.get("/health/queue").status_code == 200


def test_a_message_held_back_by_an_older_one_waiting_its_retry_is_not_late(
    client, app, make_client
):
    """The older one of its order is tried again later (a 429): the newer one, due long ago,
    is not what the sender would take now."""
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "order.paid", 402, buyer["id"])
    order_event(app, "order.cancelled", 402, buyer["id"])
    due_since(app, timedelta(minutes=5), template="order_cancelled")
    due_since(app, -timedelta(minutes=1), template="order_paid")
    answer = client.get("/health/queue")
    assert answer.status_code == 200
    assert answer.json["queues"]["queued"] == {"pending": 2, "oldest_seconds": 0.0}
