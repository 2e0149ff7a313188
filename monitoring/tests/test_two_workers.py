"""Two copies of the monitoring worker (SCALE=2) on the test database, checking a target that is
down at the same time: only the copy holding the advisory lock checks and records, so no check is
recorded twice and one outage opens one incident; when the leader goes, the other carries on from
what it wrote (the open incident included) and closes that incident when the target is back."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import func, select

from monitoring.config import parse
from monitoring.models import Incident, Result
from monitoring.notify import Notifier
from monitoring.worker import Monitor
from services.kit.leader import Leadership
from services.kit.testing import LiveServer, free_port

ROUNDS = 6


def worker(app, port: int) -> Monitor:
    config = parse(
        {
            "defaults": {"interval": "10s", "down_after": 2, "up_after": 2},
            "targets": [
                {"name": "clients", "kind": "http", "url": f"http://127.0.0.1:{port}/health/ready"}
            ],
        },
        {},
    )
    monitor = Monitor(app, config, Notifier(None))
    with app.app_context():
        monitor.leadership = Leadership(
            app.extensions["sqlalchemy"].engine, "feira:test:monitor", poll=0
        )
    monitor.restore()
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
