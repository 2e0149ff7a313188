"""The status page survives the outage it reports (issue 13): while the monitoring database is
unreachable, the dashboard answers from the worker's snapshot, and the incident joins the history
with its real start once the database is back."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from monitoring import create_app
from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier
from monitoring.worker import Monitor
from services.kit.testing import free_port

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
