"""The e-mail channel: an incident opened and an incident resolved each reach MONITOR_EMAIL_TO as
one e-mail naming the target and its state, through the kit's SMTP client to the SMTP sink over a
real socket; retried like the webhook while the server is away, given up at once when it refuses
for good, and never sent for an incident linked to a root cause."""

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import DELIVERED, Notifier, duration, email_recipients, public_url
from monitoring.worker import Monitor
from services.kit.testing import free_port
from standins.smtp import Sink, controller
from standins.smtp.testing import running_smtp_sink

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
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
SRE = ["sre@feira.local", "oncall@feira.local"]


@pytest.fixture(scope="module")
def sink():
    with running_smtp_sink() as running:
        yield running


@pytest.fixture
def smtp_env(monkeypatch):
    """The SMTP settings the stack gives the worker, pointed at `port`."""

    def point_at(port: int, **more: str):
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
        monkeypatch.setenv("MAIL_FROM", "Feira monitoring <monitoring@feira.local>")
        monkeypatch.setenv("SMTP_STARTTLS", "false")
        for key, value in more.items():
            monkeypatch.setenv(key, value)

    return point_at


@pytest.fixture
def make_monitor(app, session):
    made = []

    def _make(**notifier_options):
        notifier = Notifier(None, email_to=SRE, backoff=0.01, **notifier_options)
        watcher = Monitor(app, parse(TARGETS, {}), notifier)
        watcher.restore()
        made.append(notifier)
        return watcher

    yield _make
    for notifier in made:
        notifier.close()


def feed(monitor, name, outcomes, start=T0, every=10):
    for index, ok in enumerate(outcomes):
        at = start + timedelta(seconds=every * index)
        result = (
            CheckResult(True, 12.0, checked_at=at)
            if ok
            else CheckResult(False, 3.0, checked_at=at, step="request", error="connection refused")
        )
        monitor.observe(name, result)


def test_monitor_email_to_is_a_comma_separated_list_and_empty_means_off():
    assert email_recipients(" sre@feira.local, oncall@feira.local ,") == SRE
    assert email_recipients("") == email_recipients(None) == []


def test_a_recipients_quoted_name_may_hold_a_comma_and_what_is_not_an_address_stays_whole():
    assert email_recipients('"Ops, SRE" <sre@feira.local>, oncall@feira.local') == [
        '"Ops, SRE" <sre@feira.local>',
        "oncall@feira.local",
    ]
    # Kept as written, for send_mail to refuse, not cut down to a word that looks like one.
    assert email_recipients("sre@feira.local, not an address") == [
        "sre@feira.local",
        "not an address",
    ]


def test_an_incident_opened_and_resolved_are_one_e_mail_each_naming_target_and_state(
    sink, smtp_env, make_monitor
):
    sink.clear()
    smtp_env(sink.port)
    monitor = make_monitor()
    feed(monitor, "clients", [False, False, True, True])
    monitor.notifier.drain(timeout=10)
    opened, resolved = reversed(sink.messages(to="sre@feira.local"))
    assert opened["to"] == resolved["to"] == SRE
    assert opened["from"] == "Feira monitoring <monitoring@feira.local>"
    assert opened["subject"] == "[Feira monitoring] clients is DOWN (incident opened)"
    assert "First failing step: request" in opened["text"]
    assert "Error: connection refused" in opened["text"]
    assert resolved["subject"] == (
        "[Feira monitoring] clients is UP again after 30 s (incident resolved)"
    )
    assert "Duration: 30 s" in resolved["text"]


def test_the_e_mail_links_the_dashboard_under_monitor_public_url(sink, smtp_env, make_monitor):
    sink.clear()
    smtp_env(sink.port)
    monitor = make_monitor(public_url=public_url("https://status.feira.example/"))
    feed(monitor, "clients", [False, False])
    monitor.notifier.drain(timeout=10)
    [opened] = sink.messages(to="sre@feira.local")
    assert (
        "The dashboard: https://status.feira.example/status "
        "(its incidents at https://status.feira.example/status/api/incidents)."
    ) in opened["text"]


def test_without_monitor_public_url_the_e_mail_has_no_link_rather_than_a_relative_one(
    sink, smtp_env, make_monitor
):
    sink.clear()
    smtp_env(sink.port)
    assert public_url("") is None and public_url(None) is None
    monitor = make_monitor()
    feed(monitor, "clients", [False, False])
    monitor.notifier.drain(timeout=10)
    [opened] = sink.messages(to="sre@feira.local")
    assert "/status" not in opened["text"] and "dashboard" not in opened["text"]


@pytest.mark.parametrize("raw", ["status.feira.example", "ftp://status.feira.example", "https://"])
def test_a_monitor_public_url_that_is_not_an_http_url_is_refused_naming_it(raw):
    with pytest.raises(ValueError, match="MONITOR_PUBLIC_URL: must be an http"):
        public_url(raw)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.4, "0 s"),
        (59.6, "1 min 0 s"),
        (111, "1 min 51 s"),
        (7500, "2 h 5 min 0 s"),
        (90061, "1 d 1 h 1 min 1 s"),
        (-3, "0 s"),
    ],
)
def test_a_duration_is_said_to_the_second(seconds, said):
    assert duration(seconds) == said


def postgres_and_clients_down(monitor, checks: int) -> None:
    """`checks` rounds, 10 s apart from T0, of postgres refusing and clients failing after it."""
    for offset in range(checks):
        at = T0 + timedelta(seconds=10 * offset)
        monitor.observe("postgres", CheckResult(False, 1.0, checked_at=at, error="refused"))
        monitor.observe("clients", CheckResult(False, 1.0, checked_at=at + timedelta(seconds=1)))


def test_an_incident_linked_to_its_root_cause_sends_no_e_mail_of_its_own(
    sink, smtp_env, make_monitor
):
    sink.clear()
    smtp_env(sink.port)
    monitor = make_monitor()
    postgres_and_clients_down(monitor, checks=3)
    monitor.notifier.drain(timeout=10)
    subjects = [message["subject"] for message in sink.messages()]
    assert subjects == ["[Feira monitoring] postgres is DOWN (incident opened)"]


def _smtp_back_once_a_try_failed(port, notifier, caplog, settled=lambda: False) -> Sink:
    """Waits for a failed try (or for `settled()`), then serves SMTP on `port` until the
    notifier's queue is empty; what it received."""
    deadline = time.monotonic() + 5
    while not settled() and not any(
        r.getMessage() == "incident e-mail not sent yet" for r in caplog.records
    ):
        assert time.monotonic() < deadline, "no attempt failed"
        time.sleep(0.02)
    received = Sink()
    server = controller(received, "127.0.0.1", port)
    server.start()
    try:
        notifier.drain(timeout=30)
    finally:
        server.stop()
    return received


def test_the_e_mail_is_retried_until_the_smtp_server_is_back(smtp_env, make_monitor, caplog):
    port = free_port()
    smtp_env(port)
    monitor = make_monitor(attempts=8)
    monitor.notifier.backoff = 0.2
    with caplog.at_level(logging.INFO, logger="feira.monitoring.incidents"):
        feed(monitor, "clients", [False, False])
        received = _smtp_back_once_a_try_failed(port, monitor.notifier, caplog)
    [message] = received.listed()
    assert message["subject"] == "[Feira monitoring] clients is DOWN (incident opened)"
    assert not [r for r in caplog.records if r.getMessage() == "incident e-mail not sent"]


def test_a_recipient_written_with_a_name_is_retried_until_the_smtp_server_is_back(smtp_env, caplog):
    port = free_port()
    smtp_env(port)
    outcomes = []
    notifier = Notifier(
        None, email_to=email_recipients("SRE <sre@feira.local>"), attempts=8, backoff=0.2
    )
    try:
        with caplog.at_level(logging.INFO, logger="feira.monitoring.incidents"):
            notifier.incident(
                "incident.opened",
                {"key": "5d0c1f7e-8a3b-4c62-9e1d-2b7a4f6c8e90", "target": "clients"},
                notify=True,
                report=lambda _, outcome: outcomes.append(outcome),
            )
            received = _smtp_back_once_a_try_failed(port, notifier, caplog, lambda: outcomes)
    finally:
        notifier.close()
    assert outcomes == [DELIVERED]
    [message] = received.listed()
    assert message["to"] == ["sre@feira.local"]


def test_a_refusal_that_cannot_change_is_logged_once_and_not_retried(
    sink, smtp_env, make_monitor, caplog
):
    sink.clear()
    # The sink offers no STARTTLS: a worker told to use it gives up rather than send in clear.
    smtp_env(sink.port, SMTP_STARTTLS="true")
    monitor = make_monitor()
    with caplog.at_level(logging.INFO, logger="feira.monitoring.incidents"):
        feed(monitor, "clients", [False, False])
        monitor.notifier.drain(timeout=10)
    [failed] = [r for r in caplog.records if r.getMessage() == "incident e-mail not sent"]
    assert failed.attempts == 1 and "STARTTLS" in failed.reason
    assert failed.levelno == logging.ERROR
    assert sink.messages() == []
    for record in caplog.records:
        assert "sre@" not in f"{record.getMessage()} {record.__dict__}"


def test_the_webhook_and_the_e_mail_both_go_out(sink, smtp_env, app, session):
    from flask import Flask, request

    from services.kit.testing import LiveServer

    hooks = []
    receiver = Flask("hook")
    receiver.post("/hook")(lambda: (hooks.append(request.get_json()), ("", 204))[1])
    server = LiveServer(receiver).start()
    sink.clear()
    smtp_env(sink.port)
    notifier = Notifier(f"{server.base_url}/hook", email_to=SRE, backoff=0.01)
    try:
        monitor = Monitor(app, parse(TARGETS, {}), notifier)
        monitor.restore()
        feed(monitor, "clients", [False, False])
        notifier.drain(timeout=10)
    finally:
        notifier.close()
        server.stop()
    assert [hook["event"] for hook in hooks] == ["incident.opened"]
    assert len(sink.messages(to="oncall@feira.local")) == 1


def test_an_incident_that_outlives_its_root_cause_is_mailed_saying_so(sink, smtp_env, make_monitor):
    sink.clear()
    smtp_env(sink.port)
    monitor = make_monitor()
    postgres_and_clients_down(monitor, checks=2)
    feed(monitor, "postgres", [True, True], start=T0 + timedelta(seconds=20))
    monitor.notifier.drain(timeout=10)
    outlived = [m for m in sink.messages() if "clients" in m["subject"]]
    assert [m["subject"] for m in outlived] == [
        "[Feira monitoring] clients is still DOWN after postgres recovered (incident opened)"
    ]
    assert "Root cause: postgres (recovered first: clients outlived it)" in outlived[0]["text"]


def test_the_end_of_an_incident_whose_target_left_the_config_is_mailed_as_no_longer_monitored(
    app, sink, smtp_env, make_monitor
):
    sink.clear()
    smtp_env(sink.port)
    monitor = make_monitor()
    feed(monitor, "clients", [False, False])
    # clients leaves targets.yaml; the worker restarts without it.
    without = {**TARGETS, "targets": TARGETS["targets"][:1]}
    again = Monitor(app, parse(without, {}), monitor.notifier)
    again.restore()
    monitor.notifier.drain(timeout=10)
    closed = sink.messages(to="sre@feira.local")[0]
    assert closed["subject"].startswith("[Feira monitoring] clients is no longer monitored after ")
    assert closed["subject"].endswith(" down (incident closed)")
    assert "State: unknown: no longer in targets.yaml" in closed["text"]
    assert "UP again" not in closed["subject"]
