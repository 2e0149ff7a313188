"""The status page survives the outage it reports (issue 13): while the monitoring database is
unreachable, the dashboard answers from the worker's snapshot, and the incident joins the history
with its real start once the database is back. A worker restarted during the outage checks and
alerts at once, and carries on the incidents the database holds once it is back."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from monitoring import create_app
from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier
from monitoring.worker import Monitor
from services.kit.leader import Leadership
from services.kit.testing import free_port

from .test_incidents import Webhook

NOW = datetime.now(UTC).replace(microsecond=0)
TARGETS = {
    "defaults": {"interval": "10s", "down_after": 2, "up_after": 2},
    "targets": [
        {"name": "postgres", "kind": "postgres", "dsn": "postgresql://x@127.0.0.1:1/x"},
        {
            "name": "clients",
            "kind": "http",
            "url": "http://127.0.0.1:1/health/ready",
            "depends_on": ["postgres"],
        },
    ],
}


@pytest.fixture
def snapshot_file(app, tmp_path, monkeypatch):
    path = tmp_path / "run" / "monitoring-snapshot.json"
    monkeypatch.setitem(app.config, "MONITOR_SNAPSHOT_FILE", str(path))
    return path


@pytest.fixture
def unreachable(app, snapshot_file, jwt_keys):
    """The monitoring app with its database stopped: nothing listens on its port."""
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://monitoring:pw@127.0.0.1:{free_port()}/x",
            "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
            "LOG_LEVEL": "WARNING",
            "SERVICE_URLS": {},
            "STATUS_CACHE_SECONDS": 0,
            "MONITOR_SNAPSHOT_FILE": str(snapshot_file),
        }
    )


@pytest.fixture
def monitor(app, session, snapshot_file):
    watcher = Monitor(app, parse(TARGETS, {}), Notifier(None))
    watcher.restore()
    return watcher


def check(monitor, name, ok, at):
    monitor.observe(
        name,
        CheckResult(
            ok, 5.0, checked_at=at, step=None if ok else "query", error=None if ok else "refused"
        ),
    )


def an_hour_up(monitor):
    for index in range(360):
        at = NOW - timedelta(hours=1) + timedelta(seconds=10 * index)
        check(monitor, "postgres", True, at)
        check(monitor, "clients", True, at)


def an_outage_the_database_cannot_record(monitor, unreachable):
    """Postgres and clients fail three times while the worker cannot write."""
    database = monitor.app
    monitor.app = unreachable
    for index in range(3):
        at = NOW + timedelta(seconds=10 * index)
        check(monitor, "postgres", False, at)
        check(monitor, "clients", False, at + timedelta(seconds=1))
    return database


def test_while_its_database_is_down_the_summary_answers_what_the_worker_last_knew(
    app, web, monitor, unreachable
):
    an_hour_up(monitor)
    # The dashboard read its figures while the database was there (the same process).
    assert web.get("/status/api/summary").headers["X-Status-Source"] == "database"
    unreachable.extensions["status_last_good"] = app.extensions["status_last_good"]

    an_outage_the_database_cannot_record(monitor, unreachable)
    response = unreachable.test_client().get("/status/api/summary")
    assert response.status_code == 200
    assert response.headers["X-Status-Source"] == "worker-snapshot"
    body = response.json
    states = {t["name"]: t["state"] for t in body["targets"]}
    assert states == {"postgres": "down", "clients": "down"}
    postgres = body["targets"][0]
    assert postgres["uptime"]["24h"] == 100.0 and postgres["latency_ms"]["p50"] is not None
    root, caused = sorted(body["incidents_open"], key=lambda i: i["target"] != "postgres")
    # Not written yet: no id until the database takes it.
    assert root["target"] == "postgres" and "id" not in root
    assert datetime.fromisoformat(root["started_at"]) == NOW
    assert caused["root_cause"] == {"id": None, "target": "postgres"}
    assert body["worker"]["last_heartbeat_at"] is not None


def test_while_its_database_is_down_the_page_shows_the_outage_and_says_why(monitor, unreachable):
    an_outage_the_database_cannot_record(monitor, unreachable)
    response = unreachable.test_client().get("/status")
    assert response.status_code == 200
    assert response.headers["X-Status-Source"] == "worker-snapshot"
    page = response.get_data(as_text=True)
    assert 'id="database-banner"' in page
    assert 'data-target="postgres" data-state="down"' in page
    assert 'data-target="clients" data-state="down"' in page
    assert "2 of 2 down" in page


def test_without_a_snapshot_a_database_outage_is_still_a_503_problem(app, unreachable):
    response = unreachable.test_client().get("/status/api/summary")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"


def test_the_outage_joins_the_history_with_its_real_start_when_the_database_is_back(
    monitor, session, unreachable, web
):
    database = an_outage_the_database_cannot_record(monitor, unreachable)
    assert session.execute(text("SELECT count(*) FROM monitoring.incidents")).scalar_one() == 0

    monitor.app = database
    check(monitor, "postgres", True, NOW + timedelta(seconds=30))
    check(monitor, "postgres", True, NOW + timedelta(seconds=40))
    rows = session.execute(
        text("SELECT target, started_at, ended_at, root_cause_target FROM monitoring.incidents")
    ).all()
    by_target = {row.target: row for row in rows}
    assert by_target["postgres"].started_at == NOW
    assert by_target["postgres"].ended_at == NOW + timedelta(seconds=40)
    assert by_target["clients"].started_at == NOW + timedelta(seconds=1)
    assert by_target["clients"].root_cause_target == "postgres"
    answer = web.get("/status/api/summary")
    assert answer.headers["X-Status-Source"] == "database"
    assert [i["target"] for i in answer.json["incidents_open"]] == ["clients"]


def test_the_snapshot_is_replaced_whole_never_left_half_written(monitor, snapshot_file):
    check(monitor, "postgres", True, NOW)
    check(monitor, "clients", False, NOW)
    assert [p.name for p in snapshot_file.parent.iterdir()] == [snapshot_file.name]
    from monitoring import snapshot

    saved = snapshot.read(snapshot_file)
    assert saved["database_written"] is True
    assert {t["name"]: t["last_ok"] for t in saved["targets"]} == {
        "postgres": True,
        "clients": False,
    }


# --- a worker restarted while its database is down ---

GRACE = 2.0
CLIENTS = {
    "defaults": {"interval": "10s", "down_after": 2, "up_after": 2},
    "targets": [{"name": "clients", "kind": "http", "url": "http://127.0.0.1:1/health/ready"}],
}


@pytest.fixture
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.server.stop()


def restarted(linked_app, raw, webhook) -> Monitor:
    """A worker started while `linked_app`'s database may be down (as worker_command makes it)."""
    monitor = Monitor(linked_app, parse(raw, {}), Notifier(webhook.url, backoff=0.01))
    with linked_app.app_context():
        engine = linked_app.extensions["sqlalchemy"].engine
    monitor.leadership = Leadership(
        engine, "feira:test:restarted", poll=0, grace=GRACE, lead_unreached=True
    )
    return monitor


def outcomes(monitor, name, oks, start):
    """The checks a scheduler would run: each asks whether this copy leads, as check() does."""
    for index, ok in enumerate(oks):
        assert monitor.leads()
        check(monitor, name, ok, start + timedelta(seconds=10 * index))


def takes_the_lock(worker: Monitor) -> None:
    """Waits (bounded) until the worker, leading all along, holds the lock and has read the
    database, once Postgres has answered for the grace period."""
    deadline = time.monotonic() + GRACE + 10
    while not worker.writes():
        assert time.monotonic() < deadline, "it took the lock once Postgres had answered"
        time.sleep(0.2)
        assert worker.leads()


def test_a_worker_restarted_during_the_outage_alerts_at_once_and_carries_on_its_incident(
    app, session, linked_app, link, webhook
):
    before = Monitor(app, parse(CLIENTS, {}), Notifier(None))
    before.restore()
    for index in range(3):
        check(before, "clients", False, NOW - timedelta(minutes=5) + timedelta(seconds=10 * index))
    [opened_before] = session.execute(text("SELECT key, started_at FROM monitoring.incidents"))
    session.commit()
    # The worker restarts while Postgres is down: it checks and alerts from what it sees.
    link.down()
    worker = restarted(linked_app, CLIENTS, webhook)
    try:
        outcomes(worker, "clients", [False, False], NOW)
        worker.notifier.drain(timeout=10)
        assert [b["event"] for b in webhook.received] == ["incident.opened"]
        # Postgres is back: once it holds the lock, the worker writes what it saw, and the
        # outage goes on as the incident Postgres holds, not as a second one.
        link.up()
        outcomes(worker, "clients", [False], NOW + timedelta(seconds=20))
        takes_the_lock(worker)
        outcomes(worker, "clients", [True, True], NOW + timedelta(seconds=30))
        [incident] = session.execute(
            text("SELECT key, started_at, ended_at FROM monitoring.incidents")
        ).all()
        assert (incident.key, incident.started_at) == tuple(opened_before)
        assert incident.ended_at == NOW + timedelta(seconds=40)
        assert session.execute(text("SELECT count(*) FROM monitoring.results")).scalar() == 8
        worker.notifier.drain(timeout=10)
        closed = webhook.received[1]
        assert closed["event"] == "incident.closed"
        assert closed["incident"]["key"] == str(opened_before.key)
    finally:
        worker.leadership.release()
        worker.notifier.close()


def test_an_incident_the_database_holds_goes_on_while_its_target_still_fails(
    app, session, linked_app, link, webhook
):
    slow_to_fail = {**CLIENTS, "defaults": {**CLIENTS["defaults"], "down_after": 3}}
    before = Monitor(app, parse(slow_to_fail, {}), Notifier(None))
    before.restore()
    for index in range(3):
        check(before, "clients", False, NOW - timedelta(minutes=5) + timedelta(seconds=10 * index))
    link.down()
    worker = restarted(linked_app, slow_to_fail, webhook)
    try:
        # Restarted, it has seen one failure: not down yet by its own count.
        outcomes(worker, "clients", [False], NOW)
        link.up()
        takes_the_lock(worker)
        outcomes(worker, "clients", [False, False], NOW + timedelta(seconds=10))
        rows = session.execute(text("SELECT ended_at FROM monitoring.incidents")).all()
        assert [row.ended_at for row in rows] == [None], "one incident, still open"
        worker.notifier.drain(timeout=10)
        assert webhook.received == [], "nothing to tell: the outage was told before"
    finally:
        worker.leadership.release()
        worker.notifier.close()
