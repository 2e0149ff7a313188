"""The transactional outbox end to end: clients emits `client.deleted`, a relay POSTs it over real
HTTP to a receiver built with the kit, which processes each event id once."""

import json
from datetime import timedelta

import pytest
from flask import request
from sqlalchemy import select, update

from services.clients.models import db, outbox
from services.kit import create_service_app, make_db, utcnow
from services.kit import outbox as outbox_module
from services.kit.outbox import RELAY_BATCH, Outbox, parse_subscribers, reaches_outside, signature
from services.kit.testing import OUTBOX_SECRET, LiveServer, deliver, deliver_batch

receiver_db = make_db("auth")
inbox = Outbox(receiver_db)
# The bodies the receiver was POSTed, in order.
POSTS: list[bytes] = []
# A client id whose deletion the receiver's handler cannot take (a bug on its side: a 500).
UNTAKEABLE = 13


def on_client_deleted(seen: list, data: dict) -> None:
    if data["client_id"] == UNTAKEABLE:
        raise RuntimeError("the receiver's bug")
    seen.append(data["client_id"])


@pytest.fixture(scope="module")
def receiver(database, jwt_keys):
    """A consumer service on a real port, recording what its handler saw."""
    app, _ = create_service_app(
        "auth",
        __name__,
        db=receiver_db,
        config={
            "SQLALCHEMY_DATABASE_URI": database.url("auth"),
            "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
            "OUTBOX_SECRET": OUTBOX_SECRET,
        },
    )
    seen = []
    # Its handler keeps what it saw outside the database, as a mailer would send it.
    inbox.receiver(
        app, {"client.deleted": reaches_outside(lambda data: on_client_deleted(seen, data))}
    )
    app.before_request(lambda: POSTS.append(request.get_data()) and None)
    with app.app_context():
        receiver_db.create_all()
    server = LiveServer(app).start()
    yield app, server, seen
    server.stop()
    with app.app_context():
        receiver_db.drop_all()


@pytest.fixture
def subscribed(app, client, receiver):
    _, server, seen = receiver
    seen.clear()
    app.config["OUTBOX_SUBSCRIBERS"] = {"receiver": f"{server.base_url}/internal/events"}
    app.config["OUTBOX_SECRET"] = OUTBOX_SECRET
    yield server, seen
    app.config["OUTBOX_SUBSCRIBERS"] = {}


def relay(app):
    with app.app_context():
        return outbox.relay_once()


def deliveries(app):
    """The deliveries of `client.deleted` (its `client.created` goes to the receiver too)."""
    with app.app_context():
        return db.session.scalars(
            select(outbox.Delivery)
            .join(outbox.Event, outbox.Event.id == outbox.Delivery.event_id)
            .where(outbox.Event.type == "client.deleted")
        ).all()


def test_a_deleted_client_is_delivered_to_each_subscriber(
    app, client, admin, make_client, subscribed
):
    _, seen = subscribed
    made = make_client()
    client.delete(f"/clients/{made['id']}", headers=admin)
    assert relay(app) == 2, "client.created (which the receiver ignores) and client.deleted"
    assert seen == [made["id"]]
    [delivery] = deliveries(app)
    assert delivery.delivered_at is not None and delivery.attempts == 1
    assert relay(app) == 0


def test_no_event_leaves_when_the_change_rolls_back(app, client):
    with app.app_context():
        outbox.emit("client.deleted", {"client_id": 1})
        db.session.rollback()
        assert db.session.scalars(select(outbox.Event)).all() == []


def test_a_subscriber_that_is_down_is_retried_with_backoff_until_it_returns(
    app, client, admin, make_client, subscribed
):
    server, seen = subscribed
    server.stop()
    made = make_client()
    client.delete(f"/clients/{made['id']}", headers=admin)
    before = utcnow()
    assert relay(app) == 0
    [first] = deliveries(app)
    assert first.delivered_at is None and first.attempts == 1 and first.last_error
    assert first.next_attempt_at >= before + timedelta(seconds=1), "a second's wait"
    # Due in a minute rather than the second, which a slow machine could let pass before the relay.
    _make_due(app, after=timedelta(minutes=1))
    relay(app)
    [waiting] = deliveries(app)
    assert waiting.attempts == 1, "not due yet: the relay backs off"
    _make_due(app)
    before = utcnow()
    relay(app)
    [second] = deliveries(app)
    assert second.attempts == 2
    assert second.next_attempt_at >= before + timedelta(seconds=2), "the wait doubles"

    revived = LiveServer(server.app, server.port).start()
    server.httpd = revived.httpd  # the fixture stops whichever is running
    _make_due(app)
    assert relay(app) == 2
    assert seen == [made["id"]]


def _make_due(app, after: timedelta = timedelta(0)):
    """Every delivery due now, or `after` that long."""
    with app.app_context():
        db.session.execute(update(outbox.Delivery).values(next_attempt_at=utcnow() + after))
        db.session.commit()


def test_a_redelivered_event_is_processed_once(receiver):
    app, _, seen = receiver
    seen.clear()
    event_id = "6f1c0a52-4a8e-4c39-9a43-2f7d3b7f8e11"
    first = deliver(app, "client.deleted", {"client_id": 5}, event_id)
    second = deliver(app, "client.deleted", {"client_id": 5}, event_id)
    assert first.json == {"status": "processed"} and second.json == {"status": "duplicate"}
    assert seen == [5]


def test_an_event_its_handler_cannot_read_is_rejected_once_not_retried(receiver):
    app, _, seen = receiver
    seen.clear()
    event_id = "2c8f7a3e-3333-4c39-9a43-2f7d3b7f8e11"
    first = deliver(app, "client.deleted", {}, event_id)
    again = deliver(app, "client.deleted", {}, event_id)
    assert first.status_code == 200 and first.json == {"status": "rejected"}
    assert again.json == {"status": "duplicate"}
    assert seen == []


def test_an_unsigned_or_forged_event_is_refused(receiver):
    app, _, seen = receiver
    seen.clear()
    body = b'{"id":"0b8f7a3e-1111-4c39-9a43-2f7d3b7f8e11","type":"client.deleted","data":{}}'
    tester = app.test_client()
    assert tester.post("/internal/events", data=body).status_code == 401
    forged = {"X-Feira-Signature": signature("other-secret", body)}
    assert tester.post("/internal/events", data=body, headers=forged).status_code == 401
    assert seen == []


def test_an_event_type_without_a_handler_is_acknowledged(receiver):
    app, _, _ = receiver
    assert deliver(app, "product.created", {}).json == {"status": "ignored"}


def test_an_event_type_longer_than_the_inbox_keeps_is_acknowledged_not_a_500(receiver):
    app, _, seen = receiver
    seen.clear()
    answer = deliver_batch(app, [("x" * 200, {}), ("client.deleted", {"client_id": 52})])
    assert answer.status_code == 200
    assert answer.json == {"statuses": ["ignored", "processed"]}
    assert seen == [52]


def test_a_subscriber_is_sent_only_the_event_types_its_registry_entry_hears(app, client):
    app.config["OUTBOX_SUBSCRIBERS"] = {"inventory": "http://a/e", "orders": "http://b/e"}
    try:
        with app.app_context():
            outbox.emit("address.created", {"address_id": 1})
            outbox.emit("client.deleted", {"client_id": 1})
            db.session.flush()
            rows = db.session.execute(
                select(outbox.Event.type, outbox.Delivery.subscriber).join(
                    outbox.Delivery, outbox.Delivery.event_id == outbox.Event.id
                )
            ).all()
            db.session.rollback()
    finally:
        app.config["OUTBOX_SUBSCRIBERS"] = {}
    assert sorted(rows) == [
        ("address.created", "orders"),
        ("client.deleted", "inventory"),
        ("client.deleted", "orders"),
    ], "inventory hears client.deleted, not address.created"


def test_the_events_due_for_a_subscriber_travel_in_one_post_in_their_order(app, subscribed):
    _, seen = subscribed
    _emit_deletions(app, [21, 22, 23])
    POSTS.clear()
    assert relay(app) == 3
    assert len(POSTS) == 1 and [e["data"]["client_id"] for e in json.loads(POSTS[0])] == [
        21,
        22,
        23,
    ]
    assert seen == [21, 22, 23]
    assert relay(app) == 0


def test_an_event_its_subscriber_fails_on_holds_back_no_other(app, subscribed, receiver):
    _emit_deletions(app, [31, UNTAKEABLE, 32])
    assert relay(app) == 2, "the batch failed as a whole, then each went alone"
    with app.app_context():
        sent = dict(
            db.session.execute(
                select(
                    outbox.Event.event_id, outbox.Event.payload["data"]["client_id"].as_integer()
                )
            ).all()
        )
        [stuck] = db.session.scalars(
            select(outbox.Delivery).where(outbox.Delivery.delivered_at.is_(None))
        ).all()
        assert stuck.attempts == 1 and stuck.last_error == "HTTP 500"
        db.session.execute(update(outbox.Delivery).values(delivered_at=utcnow()))
        db.session.commit()
    with receiver[0].app_context():
        taken = receiver_db.session.scalars(select(inbox.Processed.event_id)).all()
    assert sorted(sent[event_id] for event_id in taken if event_id in sent) == [31, 32]


def _emit_deletions(app, client_ids):
    with app.app_context():
        for client_id in client_ids:
            outbox.emit("client.deleted", {"client_id": client_id})
        db.session.commit()


def test_a_batch_is_taken_in_one_transaction_each_event_once(receiver):
    app, _, seen = receiver
    seen.clear()
    first = {"id": "7a1c0a52-4a8e-4c39-9a43-2f7d3b7f8e11", "type": "client.deleted"}
    second = {"id": "7a1c0a52-4a8e-4c39-9a43-2f7d3b7f8e12", "type": "client.deleted"}
    batch = [{**first, "data": {"client_id": 41}}, {**second, "data": {"client_id": 42}}]
    body = json.dumps(
        [
            *batch,
            batch[0],
            {
                **first,
                "id": "7a1c0a52-4a8e-4c39-9a43-2f7d3b7f8e13",
                "type": "product.created",
                "data": {},
            },
        ]
    ).encode()
    answer = app.test_client().post(
        "/internal/events", data=body, headers={"X-Feira-Signature": signature(OUTBOX_SECRET, body)}
    )
    assert answer.status_code == 200
    assert answer.json == {"statuses": ["processed", "processed", "duplicate", "ignored"]}
    assert seen == [41, 42]


def test_a_handler_that_reaches_outside_runs_once_when_an_event_beside_it_is_rejected(receiver):
    app, _, seen = receiver
    seen.clear()
    answer = deliver_batch(app, [("client.deleted", {"client_id": 51}), ("client.deleted", {})])
    assert answer.json == {"statuses": ["processed", "rejected"]}
    assert seen == [51]


def test_subscribers_are_parsed_from_name_equals_url_pairs():
    assert parse_subscribers("inventory=http://a:1/e, products=http://b:2/e") == {
        "inventory": "http://a:1/e",
        "products": "http://b:2/e",
    }
    assert parse_subscribers("") == {}
    with pytest.raises(ValueError):
        parse_subscribers("inventory")


class _Stop(BaseException):
    """Ends run_relay's endless loop from inside a test."""


def test_the_relay_goes_straight_on_after_a_full_pass_and_waits_after_a_partial_one(
    app, monkeypatch
):
    """A steady trickle (an event per order) goes out in batches: after a pass that took fewer
    than a full batch the relay waits its interval, so the next one finds several waiting."""
    passes = iter([RELAY_BATCH, 3, 0])
    made, slept = [], []

    def relay_pass():
        made.append(1)
        return next(passes)

    def sleep(seconds):
        slept.append((len(made), seconds))
        if len(slept) == 2:
            raise _Stop

    monkeypatch.setattr(outbox, "relay_once", relay_pass)
    monkeypatch.setattr(outbox_module.time, "sleep", sleep)
    with app.app_context(), pytest.raises(_Stop):
        outbox.run_relay(interval=0.25)
    # No wait after the full first pass; one after the partial second and the empty third.
    assert slept == [(2, 0.25), (3, 0.25)]
