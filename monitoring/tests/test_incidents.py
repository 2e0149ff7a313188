"""Incidents: opened and closed with their start, end, first failing step and error; linked to a
failing dependency instead of raising a storm, and announced if they outlive it; a retried JSON
webhook on open and close, and what became of each delivery recorded."""

import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask, request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from monitoring import store
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


def chain(middle, last):
    """postgres <- middle <- last: each depends on the one before it."""
    return {
        "defaults": {"interval": "10s", "down_after": 2, "up_after": 2},
        "targets": [
            {"name": "postgres", "kind": "postgres", "dsn": "postgresql://x@127.0.0.1:1/x"},
            {
                "name": middle,
                "kind": "http",
                "url": "http://127.0.0.1:1/",
                "depends_on": ["postgres"],
            },
            {
                "name": last,
                "kind": "http",
                "url": "http://127.0.0.1:1/",
                "depends_on": [middle],
            },
        ],
    }


def notifying(webhook):
    """A notifier to the webhook, which has received nothing yet."""
    webhook.received.clear()
    return Notifier(webhook.url, backoff=0.01)


@contextmanager
def watching(app, raw_targets, notifier):
    """A worker watching `raw_targets`, restored from the database; its notifier is closed after."""
    watcher = Monitor(app, parse(raw_targets, {}), notifier)
    watcher.restore()
    try:
        yield watcher
    finally:
        notifier.close()


@pytest.fixture
def monitor(app, session, webhook):
    with watching(app, TARGETS, notifying(webhook)) as watcher:
        yield watcher


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


def test_an_incident_waiting_on_a_service_that_then_waits_on_its_own_cause_blames_that_service(
    app, session, webhook
):
    with watching(app, chain("clients", "journey"), notifying(webhook)) as monitor:
        # journey goes down while clients has failed once: it waits to blame clients. Then
        # postgres fails once and clients goes down waiting to blame postgres.
        monitor.observe("clients", CheckResult(False, 1.0, checked_at=T0))
        feed(monitor, "journey", [False, False], start=T0 + timedelta(seconds=1))
        monitor.observe("postgres", CheckResult(False, 1.0, checked_at=T0 + timedelta(seconds=12)))
        monitor.observe("clients", CheckResult(False, 1.0, checked_at=T0 + timedelta(seconds=13)))
        by_target = {row["target"]: row for row in incidents(session)}
        journey, clients = by_target["journey"], by_target["clients"]
        assert journey["root_cause_target"] == "clients"
        assert journey["root_cause_id"] == clients["id"]
        # postgres passes (clients is told on its own), then clients recovers: journey outlived
        # clients, not postgres, which never had an incident.
        monitor.observe("postgres", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=22)))
        feed(monitor, "clients", [True, True], start=T0 + timedelta(seconds=23))
        delivered(monitor)
        told = [(b["event"], b["incident"]["target"]) for b in webhook.received]
        assert told == [
            ("incident.opened", "clients"),
            ("incident.closed", "clients"),
            ("incident.opened", "journey"),
        ]
        outlived = webhook.received[2]["incident"]
        assert outlived["root_cause_target"] == "clients" and outlived["outlived_root_cause"]


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


def fail_together(monitor, rounds, start=T0):
    """postgres and clients fail in the same seconds: clients' incident is held back for
    postgres's."""
    for offset in range(rounds):
        at = start + timedelta(seconds=10 * offset)
        monitor.observe("postgres", CheckResult(False, 1.0, checked_at=at, error="refused"))
        monitor.observe("clients", CheckResult(False, 1.0, checked_at=at + timedelta(seconds=1)))


def test_a_linked_incident_that_outlives_its_root_cause_is_announced_then_and_at_its_recovery(
    monitor, session, webhook
):
    fail_together(monitor, 3)
    # postgres recovers; clients stays down, then recovers a minute later.
    feed(monitor, "postgres", [True, True], start=T0 + timedelta(seconds=30))
    feed(monitor, "clients", [False, False], start=T0 + timedelta(seconds=31))
    root, caused = incidents(session)
    assert root["ended_at"] == T0 + timedelta(seconds=40) and caused["ended_at"] is None
    assert caused["notified"], "announced once its root cause closed"
    assert caused["root_cause_id"] == root["id"], "the link stays: it started as a consequence"
    feed(monitor, "clients", [True, True], start=T0 + timedelta(seconds=91))
    [_, caused] = incidents(session)
    assert caused["ended_at"] == T0 + timedelta(seconds=101)
    delivered(monitor)
    told = [(b["event"], b["incident"]["target"]) for b in webhook.received]
    assert told == [
        ("incident.opened", "postgres"),
        ("incident.closed", "postgres"),
        ("incident.opened", "clients"),
        ("incident.closed", "clients"),
    ]
    opened = webhook.received[2]["incident"]
    assert opened["root_cause_target"] == "postgres" and opened["outlived_root_cause"] is True
    assert opened["started_at"] == (T0 + timedelta(seconds=1)).isoformat()


def recovering_when_the_root_cause_closes(monitor) -> None:
    """postgres and clients fail together (clients' incident linked to postgres's); postgres
    comes back, and clients passes once (still down: up_after is 2) before postgres's second
    success closes postgres's incident."""
    fail_together(monitor, 3)
    monitor.observe("postgres", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=30)))
    monitor.observe("clients", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=31)))
    monitor.observe("postgres", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=40)))


def test_a_linked_incident_already_recovering_when_its_root_cause_closes_closes_telling_nobody(
    monitor, session, webhook
):
    recovering_when_the_root_cause_closes(monitor)
    # clients passes again a few seconds later.
    [_, caused] = incidents(session)
    assert caused["ended_at"] is None and not caused["notified"], "held while it recovers"
    monitor.observe("clients", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=41)))
    [_, caused] = incidents(session)
    assert caused["ended_at"] == T0 + timedelta(seconds=41) and not caused["notified"]
    delivered(monitor)
    assert [(b["event"], b["incident"]["target"]) for b in webhook.received] == [
        ("incident.opened", "postgres"),
        ("incident.closed", "postgres"),
    ]


def test_a_linked_incident_recovering_when_its_root_cause_closes_is_announced_if_it_fails_again(
    monitor, session, webhook
):
    recovering_when_the_root_cause_closes(monitor)
    monitor.observe("clients", CheckResult(False, 1.0, checked_at=T0 + timedelta(seconds=41)))
    [root, caused] = incidents(session)
    assert caused["notified"] and caused["ended_at"] is None
    assert caused["root_cause_id"] == root["id"]
    delivered(monitor)
    told = [(b["event"], b["incident"]["target"]) for b in webhook.received]
    assert told[-1] == ("incident.opened", "clients")
    assert webhook.received[-1]["incident"]["outlived_root_cause"] is True


def test_an_incident_recovering_when_the_dependency_it_blamed_recovers_closes_telling_nobody(
    monitor, session, webhook
):
    monitor.observe("postgres", CheckResult(False, 1.0, checked_at=T0))
    feed(monitor, "clients", [False, False, True], start=T0 + timedelta(seconds=1))
    monitor.observe("postgres", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=30)))
    [waiting] = incidents(session)
    assert not waiting["notified"] and waiting["ended_at"] is None
    monitor.observe("clients", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=31)))
    [waiting] = incidents(session)
    assert waiting["ended_at"] == T0 + timedelta(seconds=31) and not waiting["notified"]
    delivered(monitor)
    assert webhook.received == []


def test_an_incident_recovering_when_the_dependency_it_blamed_recovers_is_told_if_it_fails_again(
    monitor, session, webhook
):
    monitor.observe("postgres", CheckResult(False, 1.0, checked_at=T0))
    feed(monitor, "clients", [False, False, True], start=T0 + timedelta(seconds=1))
    monitor.observe("postgres", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=30)))
    monitor.observe("clients", CheckResult(False, 1.0, checked_at=T0 + timedelta(seconds=31)))
    [incident] = incidents(session)
    assert incident["root_cause_target"] is None and incident["notified"]
    delivered(monitor)
    assert [(b["event"], b["incident"]["target"]) for b in webhook.received] == [
        ("incident.opened", "clients")
    ]


def test_a_linked_incident_whose_root_cause_closed_meanwhile_is_announced_at_the_next_check(
    app, monitor, session, webhook
):
    fail_together(monitor, 3)
    # A worker that never announced it (before this was fixed, say) closed postgres's incident.
    session.execute(
        text("UPDATE monitoring.incidents SET ended_at = :at WHERE target = 'postgres'"),
        {"at": T0 + timedelta(seconds=40)},
    )
    session.commit()
    again = Monitor(app, parse(TARGETS, {}), monitor.notifier)
    again.restore()
    again.observe("gateway", CheckResult(True, 1.0, checked_at=T0 + timedelta(seconds=50)))
    [_, caused] = incidents(session)
    assert caused["notified"] and caused["ended_at"] is None
    delivered(monitor)
    assert [(b["event"], b["incident"]["target"]) for b in webhook.received][-1] == (
        "incident.opened",
        "clients",
    )


def test_a_service_failing_under_a_dependency_that_outlived_its_root_cause_is_linked_to_it(
    app, session, webhook
):
    with watching(app, chain("auth", "clients"), notifying(webhook)) as monitor:
        for offset in range(2):
            at = T0 + timedelta(seconds=10 * offset)
            monitor.observe("postgres", CheckResult(False, 1.0, checked_at=at))
            monitor.observe("auth", CheckResult(False, 1.0, checked_at=at + timedelta(seconds=1)))
        feed(monitor, "postgres", [True, True], start=T0 + timedelta(seconds=20))
        # auth outlived postgres; now clients fails under it.
        feed(monitor, "clients", [False, False], start=T0 + timedelta(seconds=42))
        by_target = {row["target"]: row for row in incidents(session)}
        clients, auth = by_target["clients"], by_target["auth"]
        assert clients["root_cause_target"] == "auth" and clients["root_cause_id"] == auth["id"]
        assert auth["notified"] and not clients["notified"]
        delivered(monitor)
        assert [b["incident"]["target"] for b in webhook.received] == ["postgres"] * 2 + ["auth"]


def test_an_outage_that_outlasts_a_maintenance_window_starts_at_its_first_failure_after_it(
    app, session, webhook
):
    window_end = T0 + timedelta(minutes=30)
    raw = {
        **TARGETS,
        "maintenance": [
            {"name": "upgrade", "start": T0.isoformat(), "end": window_end.isoformat()}
        ],
    }
    with watching(app, raw, notifying(webhook)) as monitor:
        # Down from the start of the window until 3 minutes after it.
        feed(monitor, "clients", [False] * (33 * 6) + [True, True])
        [incident] = incidents(session)
        assert incident["started_at"] == window_end
        assert incident["ended_at"] == T0 + timedelta(minutes=33, seconds=10)
        delivered(monitor)
        assert webhook.received[0]["incident"]["started_at"] == window_end.isoformat()


def test_what_the_webhook_made_of_each_notification_is_recorded_on_the_incident(
    monitor, web, webhook
):
    feed(monitor, "clients", [False, False, True, True])
    delivered(monitor)
    monitor.flush()
    [incident] = web.get("/status/api/incidents").json["items"]
    assert incident["notified"] is True
    assert [(d["event"], d["channel"], d["outcome"]) for d in incident["deliveries"]] == [
        ("incident.opened", "webhook", "delivered"),
        ("incident.closed", "webhook", "delivered"),
    ]
    assert all(d["at"] for d in incident["deliveries"])


def test_a_notification_given_up_after_its_tries_is_recorded_as_given_up(monitor, session, webhook):
    webhook.failures = monitor.notifier.attempts
    feed(monitor, "clients", [False, False])
    delivered(monitor)
    monitor.flush()
    [incident] = incidents(session)
    assert [(d["channel"], d["outcome"]) for d in incident["deliveries"]] == [
        ("webhook", "given_up")
    ]
    assert webhook.received == []


def test_a_notification_still_queued_when_the_worker_stops_is_recorded_as_dropped(
    app, session, webhook
):
    gate = threading.Event()

    class Stalled(requests.Session):
        def post(self, *args, **kwargs):
            gate.wait(10)
            raise requests.ConnectionError("stalled")

    notifier = Notifier(webhook.url, backoff=0.01, session=Stalled())
    with watching(app, TARGETS, notifier) as monitor:
        try:
            feed(monitor, "clients", [False, False, True, True])
            notifier.close()
            monitor.flush()
            [incident] = incidents(session)
            assert ("incident.closed", "dropped") in [
                (d["event"], d["outcome"]) for d in incident["deliveries"]
            ]
        finally:
            gate.set()


def test_a_notification_still_being_tried_when_the_worker_stops_is_recorded_as_dropped_once(
    app, session, webhook
):
    trying, gate = threading.Event(), threading.Event()

    class Stalled(requests.Session):
        def post(self, *args, **kwargs):
            trying.set()
            gate.wait(10)
            raise requests.ConnectionError("stalled")

    notifier = Notifier(webhook.url, backoff=0.01, session=Stalled())
    with watching(app, TARGETS, notifier) as monitor:
        try:
            feed(monitor, "clients", [False, False])
            assert trying.wait(10), "the webhook is being tried"
            notifier.drain(timeout=0.1)
            notifier.close()
            monitor.flush()
            [incident] = incidents(session)
            assert [(d["event"], d["outcome"]) for d in incident["deliveries"]] == [
                ("incident.opened", "dropped")
            ]
        finally:
            gate.set()
    # Its tries end after the stop (given up, here): that is not recorded as well.
    notifier._pool.shutdown(wait=True)
    monitor.flush()
    [incident] = incidents(session)
    assert [d["outcome"] for d in incident["deliveries"]] == ["dropped"]


def test_a_notification_being_tried_makes_no_further_try_once_the_worker_stops(webhook):
    posts = []

    class Refused(requests.Session):
        def post(self, *args, **kwargs):
            posts.append(args)
            raise requests.ConnectionError("refused")

    # Its next try would be 20 s away: a stopped worker would wait that long to exit.
    notifier = Notifier(webhook.url, backoff=20, session=Refused())
    sent = notifier.incident("incident.opened", {"target": "clients"}, notify=True)
    deadline = time.monotonic() + 10
    while not posts and time.monotonic() < deadline:
        time.sleep(0.01)
    notifier.close()
    assert sent.result(timeout=5) is False
    assert len(posts) == 1


def legacy_down(app, monitor):
    """A worker checking a `legacy` target besides the usual ones saw it go down (its incident
    opened and announced); the caller then restarts without it."""
    with_legacy = {
        **TARGETS,
        "targets": [
            *TARGETS["targets"],
            {"name": "legacy", "kind": "http", "url": "http://127.0.0.1:1/"},
        ],
    }
    before = Monitor(app, parse(with_legacy, {}), monitor.notifier)
    before.restore()
    feed(before, "legacy", [False, False])


def test_an_open_incident_of_a_target_no_longer_configured_is_closed_and_its_end_announced(
    app, monitor, web, session, webhook
):
    legacy_down(app, monitor)
    # legacy leaves targets.yaml (removed, renamed or disabled) and the worker restarts.
    again = Monitor(app, parse(TARGETS, {}), monitor.notifier)
    restarted_at = datetime.now(UTC)
    again.restore()
    [incident] = incidents(session)
    assert incident["target"] == "legacy"
    assert incident["ended_at"] is not None and incident["ended_at"] >= restarted_at
    assert web.get("/status/api/summary").json["incidents_open"] == []
    delivered(monitor)
    assert [(b["event"], b["incident"]["target"]) for b in webhook.received] == [
        ("incident.opened", "legacy"),
        ("incident.closed", "legacy"),
    ]
    assert webhook.received[1]["incident"]["closed_because"] == "target no longer monitored"
    again.flush()
    [incident] = incidents(session)
    assert ("incident.closed", "delivered") in [
        (d["event"], d["outcome"]) for d in incident["deliveries"]
    ]


def test_the_end_of_an_incident_of_a_target_no_longer_configured_is_told_when_loading_fails(
    app, monitor, session, webhook, monkeypatch
):
    legacy_down(app, monitor)
    # legacy leaves targets.yaml; the worker takes the lead while Postgres is still flaky: the
    # states cannot be read once the orphaned incident is closed, and restore() is tried again.
    again = Monitor(app, parse(TARGETS, {}), monitor.notifier)

    def flaky(session):
        raise OperationalError("SELECT", {}, ConnectionResetError("server closed the connection"))

    with monkeypatch.context() as patched:
        patched.setattr(store, "load_states", flaky)
        with pytest.raises(OperationalError):
            again.restore()
    again.restore()
    [incident] = incidents(session)
    assert incident["ended_at"] is not None
    delivered(monitor)
    assert [(b["event"], b["incident"]["target"]) for b in webhook.received] == [
        ("incident.opened", "legacy"),
        ("incident.closed", "legacy"),
    ]
    assert webhook.received[1]["incident"]["closed_because"] == "target no longer monitored"


def test_a_held_back_incident_of_a_target_no_longer_configured_is_closed_telling_nobody(
    app, monitor, session, webhook
):
    with_legacy = {
        **TARGETS,
        "targets": [
            *TARGETS["targets"],
            {
                "name": "legacy",
                "kind": "http",
                "url": "http://127.0.0.1:1/",
                "depends_on": ["postgres"],
            },
        ],
    }
    before = Monitor(app, parse(with_legacy, {}), monitor.notifier)
    before.restore()
    for offset in range(3):
        at = T0 + timedelta(seconds=10 * offset)
        before.observe("postgres", CheckResult(False, 1.0, checked_at=at, error="refused"))
        before.observe("legacy", CheckResult(False, 1.0, checked_at=at + timedelta(seconds=1)))
    again = Monitor(app, parse(TARGETS, {}), monitor.notifier)
    again.restore()
    root, caused = incidents(session)
    assert caused["target"] == "legacy" and caused["ended_at"] is not None
    assert root["ended_at"] is None and again.tracked["postgres"].incident is not None
    delivered(monitor)
    assert [(b["event"], b["incident"]["target"]) for b in webhook.received] == [
        ("incident.opened", "postgres")
    ]


def test_an_incident_held_back_for_a_target_no_longer_configured_is_announced_on_its_own(
    app, monitor, session, webhook
):
    fail_together(monitor, 3)
    # postgres is renamed database in targets.yaml (still failing) and the worker restarts: its
    # incident ends as no longer monitored, which is no recovery clients could have outlived.
    renamed = {
        **TARGETS,
        "targets": [
            {**TARGETS["targets"][0], "name": "database"},
            TARGETS["targets"][1],
            {**TARGETS["targets"][2], "depends_on": ["database", "gateway"]},
        ],
    }
    again = Monitor(app, parse(renamed, {}), monitor.notifier)
    again.restore()
    again.observe("database", CheckResult(False, 1.0, checked_at=T0 + timedelta(seconds=40)))
    by_target = {row["target"]: row for row in incidents(session)}
    clients = by_target["clients"]
    assert clients["notified"] and clients["ended_at"] is None
    assert clients["root_cause_target"] is None and clients["root_cause_id"] is None
    delivered(monitor)
    assert [(b["event"], b["incident"]["target"]) for b in webhook.received] == [
        ("incident.opened", "postgres"),
        ("incident.closed", "postgres"),
        ("incident.opened", "clients"),
    ]
    opened = webhook.received[2]["incident"]
    assert opened["root_cause_target"] is None and opened["outlived_root_cause"] is False


def test_an_incident_that_blamed_a_dependency_no_longer_configured_notifies_on_its_own(
    app, monitor, session, webhook
):
    # clients reaches its threshold while gateway has failed once: it waits to blame gateway.
    monitor.observe("gateway", CheckResult(False, 1.0, checked_at=T0))
    feed(monitor, "clients", [False, False], start=T0 + timedelta(seconds=1))
    # gateway leaves targets.yaml and the worker restarts: nothing checks it, nothing to blame.
    without_gateway = {
        **TARGETS,
        "targets": [
            TARGETS["targets"][0],
            {**TARGETS["targets"][2], "depends_on": ["postgres"]},
        ],
    }
    again = Monitor(app, parse(without_gateway, {}), monitor.notifier)
    again.restore()
    feed(again, "clients", [False], start=T0 + timedelta(seconds=30))
    [incident] = incidents(session)
    assert incident["root_cause_target"] is None and incident["notified"]
    delivered(monitor)
    assert [b["incident"]["target"] for b in webhook.received] == ["clients"]
