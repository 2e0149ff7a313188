"""A target no longer monitored (gone from targets.yaml, kept for its history) is not shown as
if it were: its series is a 404 problem, as on the dashboard, which lists it no more, and its
badge is grey and reads `not monitored` (a README embedding it shows no broken image), never
its last state."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier
from monitoring.worker import Monitor

NOW = datetime.now(UTC).replace(microsecond=0)
TARGETS = {
    "defaults": {"interval": "15s"},
    "targets": [
        {"name": "postgres", "kind": "postgres", "dsn": "postgresql://x@127.0.0.1:1/x"},
        {"name": "clients", "kind": "http", "url": "http://127.0.0.1:1/"},
    ],
}


@pytest.fixture
def clients_removed(app, session):
    """clients up for a minute, then the worker restarted without it in targets.yaml."""
    monitor = Monitor(app, parse(TARGETS, {}), Notifier(None))
    monitor.restore()
    for index in range(4):
        at = NOW - timedelta(seconds=60 - 15 * index)
        monitor.observe("postgres", CheckResult(True, 4.0, checked_at=at))
        monitor.observe("clients", CheckResult(True, 20.0, checked_at=at))
    without = {**TARGETS, "targets": TARGETS["targets"][:1]}
    again = Monitor(app, parse(without, {}), Notifier(None))
    again.restore()
    again.beat()


def test_the_series_of_a_target_no_longer_monitored_is_a_404_problem(web, clients_removed):
    response = web.get("/status/api/targets/clients")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "no longer monitored" in response.json["detail"]
    assert web.get("/status/api/targets/postgres").status_code == 200


def test_the_badge_of_a_target_no_longer_monitored_is_grey_and_says_so(web, clients_removed):
    response = web.get("/status/badge/clients.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert 'aria-label="clients: not monitored"' in svg
    assert 'fill="#616161"' in svg and 'fill="#2e7d32"' not in svg
    assert "up" not in svg.split("<title>")[1]
    assert "up 100.00%" in web.get("/status/badge/postgres.svg").get_data(as_text=True)
    assert web.get("/status/badge/nope.svg").status_code == 404
