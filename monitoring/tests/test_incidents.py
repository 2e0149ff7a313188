"""Incidents: opened and closed with their start, end, first failing step and error; linked to a
failing dependency instead of raising a storm; a retried JSON webhook on open and close."""

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, request
from sqlalchemy import text

from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier
from monitoring.worker import Monitor
from services.kit.testing import LiveServer

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TARGETS = {
    "defaults": {"interval": "10s", "down_after": 2, "up_after": 2},
    "targets": [
        {"name": "postgres", "kind": "postgres", "dsn": "postgresql://x@127.0.0.1:1/x"},
        {"name": "gateway", "kind": "http", "url": "http://127.0.0.1:1/health"},
        {
            "name": "clients",
            "kind": "http",
            "url": "http://127.0.0.1:1/health/ready",
            "depends_on": ["postgres", "gateway"],
        },
    ],
}


class Webhook:
    """A real HTTP receiver on a local port that fails its first `failures` deliveries."""

    def __init__(self):
        self.received: list[dict] = []
        self.failures = 0
        app = Flask("webhook")

        @app.post("/hook")
        def hook():
            if self.failures:
                self.failures -= 1
                return "busy", 503
            self.received.append(request.get_json())
            return "", 204

        self.server = LiveServer(app).start()
        self.url = f"{self.server.base_url}/hook"


@pytest.fixture(scope="module")
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.server.stop()


@pytest.fixture
def monitor(app, session, webhook):
    webhook.received.clear()
    notifier = Notifier(webhook.url, backoff=0.01)
    watcher = Monitor(app, parse(TARGETS, {}), notifier)
    watcher.restore()
    yield watcher
    notifier.close()


def feed(monitor, name, outcomes, start=T0, every=10):
    for index, ok in enumerate(outcomes):
        at = start + timedelta(seconds=every * index)
        if ok:
            result = CheckResult(True, 12.0, checked_at=at)
        else:
            result = CheckResult(
                False, 3.0, checked_at=at, step="request", error="connection refused or reset"
            )
        monitor.observe(name, result)


def incidents(session):
    rows = session.execute(text("SELECT * FROM monitoring.incidents ORDER BY id")).mappings()
    return [dict(row) for row in rows]


def delivered(monitor):
    monitor.notifier.drain(timeout=10)


def test_down_after_n_failures_opens_an_incident_from_the_first_failure_and_notifies(
    monitor, session, webhook
):
    feed(monitor, "clients", [True, False, False])
    [incident] = incidents(session)
    assert incident["target"] == "clients"
    assert incident["started_at"] == T0 + timedelta(seconds=10)
    assert incident["ended_at"] is None
    assert (incident["first_failing_step"], incident["error"]) == (
        "request",
        "connection refused or reset",
    )
    assert incident["notified"] and incident["root_cause_id"] is None
    delivered(monitor)
    [body] = webhook.received
    assert body["event"] == "incident.opened"
    assert body["incident"]["target"] == "clients"
    assert body["incident"]["first_failing_step"] == "request"


def test_up_after_m_successes_closes_it_with_its_end_and_notifies(monitor, session, webhook):
    feed(monitor, "clients", [False, False, True, True])
    [incident] = incidents(session)
    assert incident["ended_at"] == T0 + timedelta(seconds=30)
    delivered(monitor)
    assert [b["event"] for b in webhook.received] == ["incident.opened", "incident.closed"]
    assert webhook.received[1]["incident"]["duration_s"] == 30.0


def test_the_webhook_is_retried_until_it_answers(monitor, session, webhook):
    webhook.failures = 2
    feed(monitor, "clients", [False, False])
    delivered(monitor)
    assert [b["event"] for b in webhook.received] == ["incident.opened"]


def test_an_outage_of_postgres_is_one_notification_with_the_services_linked_to_it(
    monitor, session, webhook
):
    # Postgres fails first; clients, which depends on it, fails in the same seconds.
    for offset in range(3):
        at = T0 + timedelta(seconds=10 * offset)
        monitor.observe("postgres", CheckResult(False, 1.0, checked_at=at, error="refused"))
        monitor.observe("clients", CheckResult(False, 1.0, checked_at=at + timedelta(seconds=1)))
    root, caused = incidents(session)
    assert (root["target"], caused["target"]) == ("postgres", "clients")
    assert caused["root_cause_id"] == root["id"] and caused["root_cause_target"] == "postgres"
    assert root["notified"] and not caused["notified"]
    delivered(monitor)
    assert [b["incident"]["target"] for b in webhook.received] == ["postgres"]


def test_a_service_that_goes_down_before_its_failing_dependency_is_linked_when_that_opens(
    monitor, session, webhook
):
    # clients reaches its threshold while postgres has failed once: it waits to blame postgres.
    monitor.observe("postgres", CheckResult(False, 1.0, checked_at=T0))
    feed(monitor, "clients", [False, False], start=T0 + timedelta(seconds=1))
    [waiting] = incidents(session)
    assert waiting["root_cause_target"] == "postgres" and waiting["root_cause_id"] is None
    monitor.observe("postgres", CheckResult(False, 1.0, checked_at=T0 + timedelta(seconds=20)))
    waiting, root = incidents(session)
    assert root["target"] == "postgres"
    assert waiting["root_cause_id"] == root["id"]
    delivered(monitor)
    assert [b["incident"]["target"] for b in webhook.received] == ["postgres"]


def test_an_incident_that_blamed_a_dependency_which_recovered_notifies_on_its_own(
    monitor, session, webhook
):
    monitor.observe("postgres", CheckResult(False, 1.0, checked_at=T0))
    feed(monitor, "clients", [False, False], start=T0 + timedelta(seconds=1))
    monitor.observe("postgres", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=20)))
    [incident] = incidents(session)
    assert incident["root_cause_target"] is None and incident["notified"]
    delivered(monitor)
    assert [b["incident"]["target"] for b in webhook.received] == ["clients"]


def test_a_restarted_worker_carries_on_with_the_open_incident(app, monitor, session, webhook):
    feed(monitor, "clients", [False, False])
    again = Monitor(app, parse(TARGETS, {}), monitor.notifier)
    again.restore()
    assert again.tracked["clients"].state.state == "down"
    feed(again, "clients", [True, True], start=T0 + timedelta(seconds=20))
    [incident] = incidents(session)
    assert incident["ended_at"] == T0 + timedelta(seconds=30)
