"""Two copies of the monitoring worker (SCALE=2) on the test database, checking a target that is
down at the same time: only the copy holding the advisory lock checks and records, so no check is
recorded twice and one outage opens one incident; when the leader goes, the other carries on from
what it wrote (the open incident included) and closes that incident when the target is back. When
the database itself goes away, the leader keeps the lead and what it saw, and writes it when the
database is back; a copy that lost the lead writes nothing."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.models import Incident, Result
from monitoring.notify import Notifier
from monitoring.worker import Monitor
from services.kit.leader import Leadership
from services.kit.testing import LiveServer, free_port

from .test_incidents import Webhook

ROUNDS = 6
# The tests' follower asks for the lead only once the database has answered this long.
GRACE = 3.0


def worker(app, port: int, notifier: Notifier | None = None, grace: float = 0.0) -> Monitor:
    config = parse(
        {
            "defaults": {"interval": "10s", "down_after": 2, "up_after": 2},
            "targets": [
                {"name": "clients", "kind": "http", "url": f"http://127.0.0.1:{port}/health/ready"}
            ],
        },
        {},
    )
    monitor = Monitor(app, config, notifier or Notifier(None))
    with app.app_context():
        monitor.leadership = Leadership(
            app.extensions["sqlalchemy"].engine, "feira:test:monitor", poll=0, grace=grace
        )
    return monitor


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        results = db.session.scalar(select(func.count()).select_from(Result))
        incidents = db.session.scalar(select(func.count()).select_from(Incident))
        open_ = db.session.scalar(
            select(func.count()).select_from(Incident).where(Incident.ended_at.is_(None))
        )
        db.session.remove()
    return results, incidents, open_


def race(monitors: list[Monitor], rounds: int = ROUNDS) -> None:
    """Each copy runs the target's check `rounds` times, all at once, as their schedulers do."""
    barrier = threading.Barrier(len(monitors))

    def run(monitor):
        for _ in range(rounds):
            barrier.wait()
            monitor.check("clients")

    threads = [threading.Thread(target=run, args=(m,)) for m in monitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_two_workers_record_each_check_once_and_open_one_incident_for_one_outage(app, session):
    port = free_port()  # nothing listens: the target is down
    first, second = worker(app, port), worker(app, port)
    try:
        race([first, second])
        results, incidents, open_ = counts(app)
        assert results == ROUNDS, "one copy checked and recorded, the other waited"
        assert (incidents, open_) == (1, 1)
        assert [first.leads(), second.leads()].count(True) == 1
    finally:
        first.leadership.release()
        second.leadership.release()


def test_the_other_worker_takes_over_the_open_incident_when_the_leader_goes(app, session):
    flask_target = Flask("target")
    flask_target.get("/health/ready")(lambda: {"status": "ok"})
    port = free_port()
    first, second = worker(app, port), worker(app, port)
    leader, follower = (first, second) if first.leads() else (second, first)
    try:
        race([leader, follower], rounds=3)
        assert counts(app)[1:] == (1, 1)
        # The leader dies: its connection, and the lock with it, goes.
        leader.leadership.release()
        leader.leadership = Leadership(leader.leadership.engine, "feira:test:other", poll=0)
        server = LiveServer(flask_target, port).start()
        try:
            for _ in range(3):
                follower.check("clients")
        finally:
            server.stop()
        results, incidents, open_ = counts(app)
        assert (incidents, open_) == (1, 0), "the same incident, closed by the new leader"
        assert results == 6
    finally:
        first.leadership.release()
        second.leadership.release()


@pytest.fixture
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.server.stop()


def serving(port: int) -> LiveServer:
    """The target, back up on `port`."""
    target = Flask("target")
    target.get("/health/ready")(lambda: {"status": "ok"})
    return LiveServer(target, port).start()


def test_the_leader_keeps_an_outage_of_the_database_and_writes_it_when_it_is_back(
    linked_app, link, session, webhook
):
    port = free_port()
    leader = worker(linked_app, port, Notifier(webhook.url, backoff=0.01), grace=GRACE)
    follower = worker(linked_app, port, grace=GRACE)
    try:
        assert leader.leads() and not follower.leads()
        link.down()
        for _ in range(2):
            leader.check("clients")
            follower.check("clients")
        started_at = leader.tracked["clients"].incident.started_at
        link.up()
        # The follower finds the database first: it must not take the lead, and the outage
        # with it, from the leader that kept it in memory.
        follower.check("clients")
        server = serving(port)
        try:
            leader.check("clients")
            leader.check("clients")
        finally:
            server.stop()
        [incident] = session.execute(
            text("SELECT started_at, ended_at FROM monitoring.incidents")
        ).all()
        assert incident.started_at == started_at, "the outage, from its real start"
        assert incident.ended_at is not None
        assert session.execute(text("SELECT count(*) FROM monitoring.results")).scalar() == 4
        leader.notifier.drain(timeout=10)
        assert [b["event"] for b in webhook.received] == ["incident.opened", "incident.closed"]
        time.sleep(GRACE)
        assert not follower.leads(), "the lock is the leader's again"
    finally:
        leader.leadership.release()
        follower.leadership.release()
        leader.notifier.close()


def test_a_check_that_ends_after_its_copy_lost_the_lead_writes_nothing(
    app, linked_app, link, session
):
    port = free_port()
    cut_off = worker(linked_app, port)
    other = worker(app, port)
    try:
        assert cut_off.leads()
        # Its way to the database goes (the database stays up for the other copy), and with
        # its connection its lock: the other copy takes the lead.
        link.down()
        deadline = time.monotonic() + 10
        while not other.leads():
            assert time.monotonic() < deadline, "the other copy took the lead"
            time.sleep(0.1)
        # Checks it had started meanwhile end: it still thinks it leads, and keeps what they saw.
        for offset in range(2):
            at = datetime.now(UTC) + timedelta(seconds=offset)
            cut_off.observe("clients", CheckResult(False, 1.0, checked_at=at, error="refused"))
        assert cut_off.tracked["clients"].incident is not None
        link.up()
        cut_off.flush()
        assert counts(app) == (0, 0, 0), "written by the copy that leads, not by this one"
        other.check("clients")
        other.check("clients")
        [key] = session.execute(text("SELECT key FROM monitoring.incidents")).scalars()
        assert str(key) == other.tracked["clients"].incident.key
        assert counts(app) == (2, 1, 1)
    finally:
        cut_off.leadership.release()
        other.leadership.release()


def test_a_record_the_database_refuses_is_dropped_and_the_others_are_written(app, session, caplog):
    port = free_port()
    monitor = worker(app, port)
    try:
        assert monitor.leads()
        # An open incident of the same target that this copy does not know of, as a copy that
        # lost the lead could have written: the one this copy opens breaks ix_incidents_open.
        session.execute(
            text(
                "INSERT INTO monitoring.incidents (key, target, started_at) "
                "VALUES (:key, 'clients', now())"
            ),
            {"key": str(uuid.uuid4())},
        )
        session.commit()
        for _ in range(3):
            monitor.check("clients")
        assert counts(app) == (3, 1, 1), "every check recorded, the stray incident alone"
        assert monitor.snapshot()["pending_records"] == 0
        refusals = [r for r in caplog.records if r.message.startswith("the database refused")]
        [refused] = refusals
        assert (refused.record, refused.target) == ("IncidentOpened", "clients")
    finally:
        monitor.leadership.release()
