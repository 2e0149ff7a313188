"""`/health/outbox` of a service that emits: each subscriber's undelivered events and the age of
the oldest, 503 naming the subscribers whose oldest is past BACKLOG_LATE_AFTER_S, however often
it was retried; the same figures as gauges on /metrics."""

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from services.kit import make_db, utcnow
from services.kit.outbox import Outbox, init_outbox
from services.kit.testing import OUTBOX_SECRET, kit_app

db = make_db("auth")
outbox = Outbox(db)
SUBSCRIBERS = {"quick": "http://127.0.0.1:9/internal/events", "stuck": "http://127.0.0.1:9/e"}


@pytest.fixture(scope="module")
def app(database, jwt_keys):
    app = kit_app(
        __name__,
        db,
        None,
        database,
        jwt_keys,
        OUTBOX_SECRET=OUTBOX_SECRET,
        OUTBOX_SUBSCRIBERS=SUBSCRIBERS,
        BACKLOG_LATE_AFTER_S=120.0,
    )
    init_outbox(app, outbox)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()


@pytest.fixture(autouse=True)
def empty_outbox(app):
    with app.app_context():
        db.session.execute(text("TRUNCATE outbox_events, outbox_deliveries RESTART IDENTITY"))
        db.session.commit()


def emit(app, written_ago: timedelta, count: int = 1) -> None:
    """`count` events for every subscriber, written `written_ago`."""
    with app.app_context():
        for n in range(count):
            outbox.emit("widget.made", {"n": n})
        db.session.commit()
        db.session.execute(update(outbox.Event).values(created_at=utcnow() - written_ago))
        db.session.commit()


def deliver(app, subscriber: str) -> None:
    with app.app_context():
        db.session.execute(
            update(outbox.Delivery)
            .where(outbox.Delivery.subscriber == subscriber)
            .values(delivered_at=utcnow())
        )
        db.session.commit()


def test_an_empty_outbox_is_healthy_and_names_every_subscriber(app):
    answer = app.test_client().get("/health/outbox")
    assert answer.status_code == 200
    assert answer.json == {
        "status": "ok",
        "late_after_s": 120.0,
        "queues": {
            "quick": {"pending": 0, "oldest_seconds": 0.0},
            "stuck": {"pending": 0, "oldest_seconds": 0.0},
        },
    }


def test_events_younger_than_the_threshold_are_a_backlog_but_healthy(app):
    emit(app, timedelta(seconds=30), count=3)
    answer = app.test_client().get("/health/outbox")
    assert answer.status_code == 200
    assert answer.json["queues"]["stuck"]["pending"] == 3
    assert 29 < answer.json["queues"]["stuck"]["oldest_seconds"] < 60


def test_a_subscriber_whose_oldest_event_is_past_the_threshold_is_named_in_a_503(app):
    emit(app, timedelta(minutes=5), count=2)
    deliver(app, "quick")
    answer = app.test_client().get("/health/outbox")
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert answer.json["detail"].startswith(
        "Events undelivered longer than 120 s: stuck (2 waiting"
    )
    assert "quick" not in answer.json["detail"]
    assert answer.json["queues"]["quick"] == {"pending": 0, "oldest_seconds": 0.0}
    assert answer.json["queues"]["stuck"]["pending"] == 2


def test_retries_waiting_their_backoff_still_age_the_backlog(app):
    """A subscriber refusing every event: each failure puts the next attempt up to a minute
    ahead, so none is due for long; the age is from the event's writing all the same."""
    emit(app, timedelta(minutes=5))
    with app.app_context():
        db.session.execute(
            update(outbox.Delivery).values(
                attempts=9, next_attempt_at=utcnow() + timedelta(seconds=60), last_error="HTTP 500"
            )
        )
        db.session.commit()
    answer = app.test_client().get("/health/outbox")
    assert answer.status_code == 503
    assert "quick (1 waiting" in answer.json["detail"]
    assert "stuck (1 waiting" in answer.json["detail"]


def test_the_backlog_is_a_gauge_per_subscriber_on_metrics(app):
    emit(app, timedelta(minutes=5), count=2)
    deliver(app, "quick")
    body = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'feira_outbox_pending{subscriber="stuck"} 2.0' in body
    assert 'feira_outbox_pending{subscriber="quick"} 0.0' in body
    oldest = [line for line in body.splitlines() if line.startswith("feira_outbox_oldest_seconds{")]
    assert len(oldest) == 2
    stuck = next(line for line in oldest if 'subscriber="stuck"' in line)
    assert 299 < float(stuck.split()[-1]) < 330


def test_the_threshold_is_a_setting(app):
    emit(app, timedelta(minutes=5))
    app.config["BACKLOG_LATE_AFTER_S"] = 600.0
    try:
        assert app.test_client().get("/health/outbox").status_code == 200
    finally:
        app.config["BACKLOG_LATE_AFTER_S"] = 120.0
