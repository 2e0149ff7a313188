"""SCALE copies of a service's background processes, raced for real on the test database: two
relays deliver each event once and in the order it was written; a chore (`outbox.every`: the
orders sweeper, payments reconciliation) runs in one relay at a time; a copy of a service that
refuses the connection costs a call nothing, the next copy takes it."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask, request
from sqlalchemy import func, select

from services.clients.models import db, outbox
from services.kit.httpclient import ServiceClient
from services.kit.leader import Leadership, only_one
from services.kit.testing import LiveServer, chore_asked_while_running, free_port

EVENTS = 120
BATCH = 7


class Recorder:
    """A subscriber on a real port that records the ids of the events POSTed to it, slowly
    enough that two relays' passes would overlap if nothing kept them apart."""

    def __init__(self):
        self.ids: list[int] = []
        self.lock = threading.Lock()
        app = Flask("recorder")

        @app.post("/internal/events")
        def take():
            events = request.get_json()
            numbers = [e["data"]["n"] for e in (events if isinstance(events, list) else [events])]
            # Every other batch of the relay (7 events) is slow: a later one overtakes it
            # unless one relay delivers at a time.
            time.sleep(0.03 if (numbers[0] // BATCH) % 2 == 0 else 0.001)
            with self.lock:
                self.ids += numbers
            return {"status": "processed"}

        @app.get("/who")
        def who():
            return {"port": request.host.rsplit(":", 1)[1]}

        @app.post("/who")
        def who_post():
            return {"port": request.host.rsplit(":", 1)[1]}, 201

        self.server = LiveServer(app).start()


@pytest.fixture
def recorder(app, client):
    receiver = Recorder()
    app.config["OUTBOX_SUBSCRIBERS"] = {"recorder": f"{receiver.server.base_url}/internal/events"}
    yield receiver
    app.config["OUTBOX_SUBSCRIBERS"] = {}
    receiver.server.stop()


def pending(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(outbox.Delivery)
            .where(outbox.Delivery.delivered_at.is_(None))
        )
        db.session.remove()
        return count


def test_two_relays_racing_deliver_each_event_once_in_the_order_it_was_written(app, recorder):
    with app.app_context():
        for n in range(EVENTS):
            outbox.emit("replica.test", {"n": n})
            db.session.commit()
    passes = {"a": 0, "b": 0}

    def relay(name: str):
        with app.app_context():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                delivered = outbox.relay_once(batch=BATCH)
                passes[name] += bool(delivered)
                if not delivered and pending(app) == 0:
                    break
            db.session.remove()

    threads = [threading.Thread(target=relay, args=(name,)) for name in passes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert recorder.ids == list(range(EVENTS)), "each event once, in the order written"
    assert pending(app) == 0


def test_a_chore_runs_in_one_relay_at_a_time(app, client):
    runs: list[int] = []
    outbox.every(60, lambda: runs.append(1))
    index = len(outbox.chores) - 1
    try:
        # The first relay is held inside the chore while the second asks: no timing involved.
        ran = chore_asked_while_running(app, outbox, index)
        assert ran == [False, True], "the second relay found the first running it and skipped"
        assert len(runs) == 1
        with app.app_context():
            assert outbox.run_chore(index) is True, "free again once the first run ended"
        assert len(runs) == 2
    finally:
        outbox.chores.pop(index)


def test_only_one_frees_its_lock_when_the_block_ends_or_raises(app):
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        with pytest.raises(RuntimeError), only_one(engine, "feira:test:raises") as mine:
            assert mine
            raise RuntimeError("the chore failed")
        with only_one(engine, "feira:test:raises") as again:
            assert again


def test_one_leader_at_a_time_and_the_other_takes_over_when_it_goes(app):
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        first = Leadership(engine, "feira:test:leader", poll=0)
        second = Leadership(engine, "feira:test:leader", poll=0)
        assert first.leading() is True
        assert second.leading() is False
        assert first.leading() is True, "it keeps what it holds"
        first.release()
        assert second.leading() is True
        assert first.leading() is False


def test_a_copy_that_refuses_the_connection_costs_a_call_nothing_even_a_post(app):
    copy = Recorder()
    stopped = free_port()
    try:
        client = ServiceClient("clients", f"http://127.0.0.1:{stopped},{copy.server.base_url}")
        with app.app_context():
            for _ in range(4):
                assert client.get("/who").json()["port"] == str(copy.server.port)
                answer = client.post("/who")
                assert answer.status_code == 201
    finally:
        copy.server.stop()


def test_calls_take_turns_between_the_copies(app):
    first, second = Recorder(), Recorder()
    try:
        client = ServiceClient("clients", f"{first.server.base_url},{second.server.base_url}")
        with app.app_context():
            ports = {client.get("/who").json()["port"] for _ in range(4)}
        assert ports == {str(first.server.port), str(second.server.port)}
    finally:
        first.server.stop()
        second.server.stop()


def test_a_relay_delivers_to_the_next_copy_when_one_is_down(app, recorder):
    stopped = free_port()
    app.config["OUTBOX_SUBSCRIBERS"] = {
        "recorder": f"http://127.0.0.1:{stopped}/internal/events|"
        f"{recorder.server.base_url}/internal/events"
    }
    with app.app_context():
        outbox.emit("replica.test", {"n": 1})
        db.session.commit()
        assert outbox.relay_once() == 1
        db.session.remove()
    assert recorder.ids == [1]
