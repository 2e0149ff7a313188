"""A target's series over an old span: its points come from the finest rollups still kept at its
start (minutes 8 days, hours 90), and a resolution asked for that is no longer kept there is a
422 naming `resolution`, never an empty series beside an uptime computed from the rest."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring import store
from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier
from monitoring.worker import Monitor

NOW = datetime.now(UTC).replace(microsecond=0)
# Three hours of checks, one a minute, from midnight (UTC) ten days ago: one day holds them all,
# whatever the hour the tests run at (from 22:00 they would straddle two days).
START = store.bucket(NOW - timedelta(days=10), store.DAY)
END = START + timedelta(hours=3)
TARGETS = {
    "defaults": {"interval": "60s"},
    "targets": [{"name": "clients", "kind": "http", "url": "http://127.0.0.1:1/"}],
}


@pytest.fixture
def ten_days_ago(app, session):
    """clients checked every minute for three hours ten days ago and for the last hour, then
    pruned as the worker does: the old minutes are gone, their hours and day are kept."""
    monitor = Monitor(app, parse(TARGETS, {}), Notifier(None))
    monitor.restore()
    recent = NOW - timedelta(hours=1)
    for at in [START + timedelta(minutes=m) for m in range(180)] + [
        recent + timedelta(minutes=m) for m in range(60)
    ]:
        monitor.observe("clients", CheckResult(True, 20.0, checked_at=at))
    store.prune(session, NOW)
    session.commit()


def series(web, **query):
    query = {"from": START.isoformat(), "to": END.isoformat(), **query}
    return web.get("/status/api/targets/clients", query_string=query)


def test_a_short_span_whose_minutes_are_pruned_has_a_point_per_hour_kept(web, ten_days_ago):
    response = series(web)
    assert response.status_code == 200
    body = response.json
    assert body["resolution"] == "hour"
    assert [point["at"] for point in body["points"]] == [
        (START + timedelta(hours=hour)).isoformat() for hour in range(3)
    ]
    assert sum(point["checks"] for point in body["points"]) == 180
    assert body["uptime"] == 100.0


def test_a_resolution_asked_for_that_is_no_longer_kept_at_from_is_a_422_naming_it(
    web, ten_days_ago
):
    response = series(web, resolution="minute")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == ["resolution"]
    assert "8 days" in response.json["errors"]["resolution"][0]


def test_a_coarser_resolution_asked_for_is_served_as_asked(web, ten_days_ago):
    body = series(web, resolution="day").json
    assert body["resolution"] == "day"
    assert [point["checks"] for point in body["points"]] == [180]


def test_a_recent_short_span_is_still_served_per_minute(web, ten_days_ago):
    query = {"from": (NOW - timedelta(hours=1)).isoformat(), "to": NOW.isoformat()}
    body = series(web, **query).json
    assert body["resolution"] == "minute"
    assert sum(point["checks"] for point in body["points"]) == 60
    assert series(web, **query, resolution="minute").status_code == 200
