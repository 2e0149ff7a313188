"""The worker as its own process (`flask --app monitoring:create_app worker`, as supervisord and
Kubernetes start it). Beside a copy that leads, a copy that starts (in a rolling update, say)
changes nothing of what the leader still checks (no target made inactive, no incident closed,
nobody told) until it takes the lead itself. Started while its database is down, it checks and
alerts at once, and records what it saw once the database is back. It reads MONITOR_PUBLIC_URL
as it starts: a value that is not an http(s) URL stops it there, a good one is in its mails."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from flask import Flask
from sqlalchemy import text

from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier
from monitoring.worker import Monitor
from services.kit.leader import Leadership
from services.kit.testing import LiveServer
from standins.smtp.testing import running_smtp_sink

from .test_incidents import Webhook

REPO = Path(__file__).resolve().parents[2]
LOCK = "feira:monitoring:worker"


class WorkerProcess:
    """`flask worker` on the test database, its log lines (JSON on stderr) read as they come."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "monitoring:create_app", "worker"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)

    def logged(self, message: str) -> bool:
        return any(f'"message": "{message}"' in line for line in self.lines)

    def wait_for(self, message: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.logged(message):
            assert self.process.poll() is None, "the worker ended:\n" + "".join(self.lines)
            assert time.monotonic() < deadline, f"no {message!r} in:\n" + "".join(self.lines)
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def eventually(condition, timeout: float = 30, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(every)


@pytest.fixture(scope="module")
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.server.stop()


@pytest.fixture(scope="module")
def up():
    """A target that answers."""
    target = Flask("target")
    target.get("/health/ready")(lambda: {"status": "ok"})
    server = LiveServer(target).start()
    yield f"{server.base_url}/health/ready"
    server.stop()


@pytest.fixture
def worker_env(database, jwt_keys, tmp_path, webhook):
    def env(targets: list[dict]) -> dict[str, str]:
        path = tmp_path / "targets.yaml"
        path.write_text(yaml.safe_dump({"targets": targets}))
        return {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": database.url("monitoring"),
            "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
            "MONITOR_TARGETS_FILE": str(path),
            "MONITOR_SNAPSHOT_FILE": str(tmp_path / "snapshot.json"),
            "MONITOR_INTERVAL": "2s",
            "WEBHOOK_URL": webhook.url,
            "LOG_LEVEL": "INFO",
        }

    webhook.received.clear()
    return env


def open_incidents(session) -> list[str]:
    rows = session.execute(
        text("SELECT target FROM monitoring.incidents WHERE ended_at IS NULL ORDER BY target")
    )
    session.commit()
    return list(rows.scalars())


def test_a_copy_started_while_another_leads_leaves_what_the_leader_checks_alone(
    app, session, worker_env, webhook, up
):
    x = {"name": "x", "kind": "http", "url": up}
    legacy = {"name": "legacy", "kind": "http", "url": "http://127.0.0.1:1/"}
    # The copy that leads checks legacy, down: its incident is open (and was told).
    leader = Monitor(app, parse({"targets": [x, legacy]}, {}), Notifier(None))
    leader.leadership = Leadership(app.extensions["sqlalchemy"].engine, LOCK, poll=0)
    started = None
    try:
        for offset in range(3):
            at = datetime.now(UTC) + timedelta(seconds=offset)
            leader.observe("legacy", CheckResult(False, 1.0, checked_at=at, error="refused"))
        assert open_incidents(session) == ["legacy"]
        # The new copy's targets.yaml has no legacy any more.
        started = WorkerProcess(worker_env([x]))
        started.wait_for("monitoring")
        # A few of its polls for the lock (every 2 s): it follows, and leaves everything be.
        time.sleep(3)
        assert open_incidents(session) == ["legacy"]
        active = session.execute(
            text("SELECT active FROM monitoring.targets WHERE name = 'legacy'")
        )
        assert active.scalar_one() is True
        assert webhook.received == []
        # The old copy stops: the new one leads, and ends the incident no check would end.
        leader.leadership.release()
        eventually(lambda: open_incidents(session) == [])
        eventually(lambda: webhook.received)
        [told] = webhook.received
        assert (told["event"], told["incident"]["target"]) == ("incident.closed", "legacy")
        assert told["incident"]["closed_because"] == "target no longer monitored"
    finally:
        leader.leadership.release()
        if started is not None:
            started.stop()


def test_a_worker_started_while_its_database_is_down_checks_at_once_and_records_it_later(
    session, database, link, worker_env, webhook
):
    down = {"name": "orders", "kind": "http", "url": "http://127.0.0.1:1/health/ready"}
    env = worker_env([down])
    env["DATABASE_URL"] = env["DATABASE_URL"].replace(f":{database.port}/", f":{link.port}/")
    link.down()
    started = WorkerProcess(env)
    try:
        # Checked every 2 s, 1 s apart once failing: down after two failures, and told so.
        eventually(lambda: webhook.received, timeout=30)
        [told] = webhook.received
        assert (told["event"], told["incident"]["target"]) == ("incident.opened", "orders")
        assert started.logged("leading until the database answers")
        link.up()
        # It takes the lock once Postgres has answered for LEAD_GRACE_SECONDS (20 s).
        eventually(lambda: open_incidents(session) == ["orders"], timeout=60)
        row = session.execute(text("SELECT key, started_at FROM monitoring.incidents")).one()
        session.commit()
        assert str(row.key) == told["incident"]["key"]
        assert row.started_at == datetime.fromisoformat(told["incident"]["started_at"])
    finally:
        started.stop()


def test_a_monitor_public_url_that_is_not_an_http_url_stops_the_worker_at_start_naming_it(
    worker_env, up
):
    env = worker_env([{"name": "x", "kind": "http", "url": up}])
    env["MONITOR_PUBLIC_URL"] = "ftp://status.feira.example"
    started = WorkerProcess(env)
    try:
        code = started.process.wait(timeout=60)
    finally:
        started.stop()
    said = "".join(started.lines)
    assert code != 0
    # Click's one line for the operator, not a traceback, and before it checks anything.
    assert "Error: MONITOR_PUBLIC_URL: must be an http(s) URL, not 'ftp://" in said
    assert "Traceback" not in said
    assert not started.logged("monitoring")


def test_the_worker_links_its_mails_to_the_dashboard_under_monitor_public_url(session, worker_env):
    down = {"name": "orders", "kind": "http", "url": "http://127.0.0.1:1/health/ready"}
    with running_smtp_sink() as sink:
        env = worker_env([down])
        env.update(
            SMTP_HOST=sink.host,
            SMTP_PORT=str(sink.port),
            SMTP_STARTTLS="false",
            MAIL_FROM="Feira monitoring <monitoring@feira.local>",
            MONITOR_EMAIL_TO="sre@feira.local",
            MONITOR_PUBLIC_URL="https://status.feira.example/",
        )
        started = WorkerProcess(env)
        try:
            eventually(lambda: sink.messages(to="sre@feira.local"), timeout=30)
        finally:
            started.stop()
        [opened] = sink.messages(to="sre@feira.local")
    assert opened["subject"] == "[Feira monitoring] orders is DOWN (incident opened)"
    assert "The dashboard: https://status.feira.example/status " in opened["text"]
