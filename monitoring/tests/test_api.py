"""The dashboard, its JSON API, the badges and the metrics, through HTTP."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from monitoring import metrics, status, store
from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier, email_for
from monitoring.worker import Monitor

NOW = datetime.now(UTC).replace(microsecond=0)
TARGETS = {
    "defaults": {"interval": "15s"},
    "targets": [
        {"name": "postgres", "kind": "postgres", "dsn": "postgresql://x@127.0.0.1:1/x"},
        {
            "name": "clients",
            "kind": "http",
            "url": "http://127.0.0.1:1/",
            "depends_on": ["postgres"],
        },
    ],
}


@pytest.fixture
def monitor(app, session):
    watcher = Monitor(app, parse(TARGETS, {}), Notifier(None))
    watcher.restore()
    return watcher


@pytest.fixture
def history(monitor):
    """An hour of checks: postgres always up; clients up, then down for its last three checks."""
    start = NOW - timedelta(hours=1)
    for index in range(240):
        at = start + timedelta(seconds=15 * index)
        monitor.observe("postgres", CheckResult(True, 4.0, checked_at=at))
        ok = index < 237
        monitor.observe(
            "clients",
            CheckResult(
                ok,
                30.0,
                checked_at=at,
                step=None if ok else "request",
                error=None if ok else "refused",
            ),
        )
    monitor.beat()
    return monitor


def test_the_summary_has_every_target_its_state_uptime_latency_and_the_open_incidents(web, history):
    response = web.get("/status/api/summary")
    assert response.status_code == 200
    body = response.json
    assert list(body) == ["targets", "incidents_open", "worker"]
    assert [t["name"] for t in body["targets"]] == ["postgres", "clients"]
    postgres, clients = body["targets"]
    assert set(postgres) == {
        "name",
        "kind",
        "state",
        "last_checked_at",
        "last_error",
        "last_step",
        "uptime",
        "observed_s",
        "latency_ms",
    }
    assert postgres["state"] == "up" and clients["state"] == "down"
    # What the last check found wrong, on the target's row as on the page: nothing when up.
    assert postgres["last_error"] is None and postgres["last_step"] is None
    assert clients["last_error"] == "refused" and clients["last_step"] == "request"
    assert postgres["uptime"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}
    assert clients["uptime"]["24h"] == pytest.approx(100 * 237 / 240, abs=0.01)
    # The uptime is of the hour the worker observed, not of the whole 24 h: said beside it.
    assert set(postgres["observed_s"]) == {"24h", "7d", "30d"}
    assert all(3500 < seconds <= 3615 for seconds in postgres["observed_s"].values())
    assert 0 < postgres["latency_ms"]["p50"] <= 5 and 20 < clients["latency_ms"]["p95"] <= 30
    [incident] = body["incidents_open"]
    assert incident["target"] == "clients" and incident["state"] == "open"
    assert incident["first_failing_step"] == "request" and incident["error"] == "refused"
    assert body["worker"]["last_heartbeat_at"] is not None


def test_a_target_series_has_a_point_per_bucket_with_uptime_and_percentiles(web, history):
    start = (NOW - timedelta(hours=2)).isoformat()
    response = web.get("/status/api/targets/clients", query_string={"from": start})
    assert response.status_code == 200
    body = response.json
    assert body["name"] == "clients" and body["resolution"] == "minute"
    assert 60 <= len(body["points"]) <= 62
    assert sum(p["checks"] for p in body["points"]) == 240
    assert body["points"][0]["uptime"] == 100.0 and body["points"][0]["p50"] is not None
    assert (body["last_step"], body["last_error"]) == ("request", "refused")
    postgres = web.get("/status/api/targets/postgres").json
    assert (postgres["last_step"], postgres["last_error"]) == (None, None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-01-02T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"}, "from"),
        ({"from": "2026-01-01T00:00:00"}, "from"),
        ({"resolution": "week"}, "resolution"),
        ({"to": "0001-01-01T00:00:00+00:00"}, "to"),
        ({"to": "9999-12-31T23:30:00+00:00"}, "to"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_a_bad_window_is_a_422_naming_the_parameter(web, session, monitor, query, field):
    response = web.get("/status/api/targets/clients", query_string=query)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_a_from_in_the_future_without_to_is_a_422_naming_from(web, session, monitor):
    response = web.get("/status/api/targets/clients", query_string={"from": "2999-12-30T00:00:00Z"})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["from"]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-12-05T00:00:00Z", "to": "2999-12-31T00:00:00Z"},
        {"from": "2025-01-01T00:00:00Z", "to": "2026-02-05T00:00:01Z"},
        {"from": "2001-01-01T00:00:00Z"},
    ],
)
def test_a_span_longer_than_400_days_is_a_422_naming_from_not_a_shorter_series(
    web, session, monitor, query
):
    response = web.get("/status/api/targets/clients", query_string=query)
    assert response.status_code == 422
    assert response.json["errors"] == {
        "from": ["At most 400 days before `to` (now when it is absent)."]
    }


def test_a_span_of_400_days_is_served_whole(web, session, monitor):
    query = {"from": "2025-01-01T00:00:00+00:00", "to": "2026-02-05T00:00:00+00:00"}
    response = web.get("/status/api/targets/clients", query_string=query)
    assert response.status_code == 200
    assert (response.json["from"], response.json["to"]) == (query["from"], query["to"])


def test_the_summary_rejects_an_unknown_parameter_with_a_422_naming_it(web, session):
    response = web.get("/status/api/summary", query_string={"target": "clients"})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["target"]


def test_an_unknown_target_is_a_404_problem(web, session):
    response = web.get("/status/api/targets/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_an_over_long_target_name_is_a_404_problem(web, session):
    response = web.get("/status/api/targets/" + "a" * 41)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_an_over_long_incident_filter_is_a_422_naming_it(web, session):
    response = web.get("/status/api/incidents", query_string={"target": "x" * 5000})
    assert response.status_code == 422
    assert response.json["errors"] == {"target": ["Longer than 40 characters."]}


def test_incidents_are_listed_the_latest_first_and_filtered(web, history):
    body = web.get("/status/api/incidents").json
    assert body["total"] == 1 and body["page"] == 1
    assert body["items"][0]["target"] == "clients"
    assert web.get("/status/api/incidents?state=closed").json["total"] == 0
    assert web.get("/status/api/incidents?target=postgres").json["items"] == []


def test_the_page_lists_every_target_with_its_state_and_no_stale_banner(web, history):
    response = web.get("/status")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'data-target="postgres" data-state="up"' in page
    assert 'data-target="clients" data-state="down"' in page
    assert 'id="open-incidents"' in page
    assert "stale-banner" not in page
    assert "/status/static/chart.umd.min.js" in page and "cdn" not in page.lower()


def test_a_stale_heartbeat_shows_a_banner(web, session, monitor):
    store.beat(session, "worker", NOW, 1, 2)
    session.execute(
        store.text("UPDATE monitoring.heartbeats SET beat_at = now() - interval '5 minutes'")
    )
    session.commit()
    page = web.get("/status").get_data(as_text=True)
    assert 'id="stale-banner"' in page and "has not reported for 5 min" in page


def test_the_chart_library_is_served_from_the_dashboard_itself(web, session):
    response = web.get("/status/static/chart.umd.min.js")
    assert response.status_code == 200
    assert b"Chart.js v4" in response.get_data()[:200]


def test_a_badge_is_an_svg_with_the_state_and_uptime(web, history):
    response = web.get("/status/badge/postgres.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "postgres" in svg and "up 100.00%" in svg
    assert web.get("/status/badge/nope.svg").status_code == 404


def worker_stopped_five_minutes_ago(session):
    session.execute(
        store.text("UPDATE monitoring.heartbeats SET beat_at = now() - interval '5 minutes'")
    )
    session.commit()


def test_a_badge_is_grey_and_says_stale_when_the_worker_has_stopped(web, session, history):
    fresh = web.get("/status/badge/postgres.svg")
    worker_stopped_five_minutes_ago(session)
    response = web.get("/status/badge/postgres.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == fresh.headers["Cache-Control"]
    svg = response.get_data(as_text=True)
    assert 'aria-label="postgres: stale"' in svg and "<title>postgres: stale</title>" in svg
    assert 'fill="#616161"' in svg and 'fill="#2e7d32"' not in svg
    assert "up 100.00%" not in svg


def test_the_summary_says_whether_the_worker_is_stale(web, session, history):
    assert web.get("/status/api/summary").json["worker"]["stale"] is False
    worker_stopped_five_minutes_ago(session)
    assert web.get("/status/api/summary").json["worker"]["stale"] is True


def test_the_dashboard_is_read_only(web, session):
    assert web.post("/status/api/summary").status_code == 405
    assert web.delete("/status/api/incidents").status_code == 405


def test_metrics_carry_each_target_state_and_uptime(web, history):
    text = web.get("/metrics").get_data(as_text=True)
    assert 'feira_monitor_target_up{target="postgres"} 1.0' in text
    assert 'feira_monitor_target_up{target="clients"} 0.0' in text
    assert 'feira_monitor_target_state{state="down",target="clients"} 1.0' in text
    assert 'feira_monitor_incidents_open{target="clients"} 1.0' in text
    assert 'feira_monitor_uptime_ratio{target="postgres",window="24h"} 1.0' in text
    assert "feira_monitor_worker_heartbeat_age_seconds" in text


def test_the_summary_and_the_page_are_kept_a_few_seconds(app, web, history, monitor):
    app.config["STATUS_CACHE_SECONDS"] = 60
    try:
        before = web.get("/status/api/summary").json
        page = web.get("/status").get_data(as_text=True)
        monitor.observe("postgres", CheckResult(False, 1.0, checked_at=NOW))
        monitor.observe("postgres", CheckResult(False, 1.0, checked_at=NOW + timedelta(seconds=1)))
        assert web.get("/status/api/summary").json == before
        assert web.get("/status").get_data(as_text=True) == page
    finally:
        app.config["STATUS_CACHE_SECONDS"] = 0
        app.extensions.pop("status_cache", None)
    assert web.get("/status/api/summary").json["targets"][0]["state"] == "down"


# What each reader shows of clients when it reads it down, and when it reads its incident open.
OUTAGE_SEEN = {
    "/status/api/summary": (
        lambda r: r.json["targets"][1]["state"] == "down",
        lambda r: r.json["incidents_open"] != [],
    ),
    "/status": (
        lambda r: 'data-target="clients" data-state="down"' in r.get_data(as_text=True),
        lambda r: 'id="open-incidents"' in r.get_data(as_text=True),
    ),
    "/metrics": (
        lambda r: (
            'feira_monitor_target_state{state="down",target="clients"} 1.0'
            in r.get_data(as_text=True)
        ),
        lambda r: 'feira_monitor_incidents_open{target="clients"} 1.0' in r.get_data(as_text=True),
    ),
}


def outage_committed_after_the_targets_are_read(app, monkeypatch) -> None:
    """The next read of the targets is followed at once by the worker's commit of clients down
    and its incident open: between that read and the read of the incidents."""
    read_targets = store.targets

    def targets_then_the_worker_commits_an_outage(session):
        listed = read_targets(session)
        monkeypatch.setattr(store, "targets", read_targets)
        at = NOW + timedelta(seconds=1)
        with Session(app.extensions["sqlalchemy"].engine) as worker:
            refused = store.save(
                worker,
                [
                    store.Observation(
                        "clients",
                        at,
                        False,
                        1.0,
                        "down",
                        at,
                        3,
                        0,
                        at,
                        15.0,
                        step="request",
                        error="refused",
                    ),
                    store.IncidentOpened(
                        "6b0f8f2e-0000-4000-8000-000000000001",
                        "clients",
                        at,
                        "request",
                        "refused",
                        announced=True,
                    ),
                ],
            )
        assert refused == []
        return listed

    monkeypatch.setattr(store, "targets", targets_then_the_worker_commits_an_outage)


@pytest.mark.parametrize("path", list(OUTAGE_SEEN))
def test_a_target_down_and_its_incident_are_read_in_one_snapshot(
    app, web, monitor, monkeypatch, path
):
    """The worker marks a target down and opens its incident in one transaction: one committed
    after the dashboard read the targets, before it read the incidents, shows in neither (each
    answer is one REPEATABLE READ transaction), never as a target down with no incident open."""
    outage_committed_after_the_targets_are_read(app, monkeypatch)
    target_down, incident_open = OUTAGE_SEEN[path]
    during = web.get(path)
    assert (target_down(during), incident_open(during)) == (False, False)
    after = web.get(path)
    assert (target_down(after), incident_open(after)) == (True, True)


# What each reader returns of clients's state, and of the open incidents.
READERS = {
    "summary": (status.summary, lambda r: r["targets"][1]["state"], lambda r: r["incidents_open"]),
    "dashboard": (
        status.dashboard,
        lambda r: r["targets"][1]["state"],
        lambda r: r["incidents_open"],
    ),
    "metrics": (metrics._read, lambda r: r[0][1]["state"], lambda r: r[2]),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_each_reader_takes_its_own_snapshot_whoever_calls_it(
    app, session, monitor, monkeypatch, reader
):
    """A new caller of a reader gets one snapshot without asking for it: the reader opens it."""
    read, state, incidents_open = READERS[reader]
    outage_committed_after_the_targets_are_read(app, monkeypatch)
    during = read(session, NOW)
    assert (state(during), incidents_open(during)) == ("unknown", [])
    after = read(session, NOW)
    assert state(after) == "down" and len(incidents_open(after)) == 1


def test_the_page_says_an_incidents_duration_to_the_second_as_the_e_mail_does(
    web, session, monitor
):
    started = NOW - timedelta(minutes=10)
    ended = started + timedelta(seconds=111)
    key = "6b0f8f2e-0000-4000-8000-000000000002"
    opened = store.IncidentOpened(key, "clients", started, "request", "refused", announced=True)
    assert store.save(session, [opened, store.IncidentClosed(key, ended)]) == []
    page = web.get("/status").get_data(as_text=True)
    [incident] = web.get("/status/api/incidents").json["items"]
    assert incident["duration_s"] == 111
    _, mail = email_for("incident.closed", {"target": "clients", "duration_s": 111})
    assert "Duration: 1 min 51 s" in mail
    assert f"down for 1 min 51 s, until {ended:%H:%M:%S}" in page
