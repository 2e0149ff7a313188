"""A rollout stops the CLI loops with SIGTERM (they are PID 1 in their containers): an outbox relay
and notifications' sender finish the pass under way and exit 0 at once, instead of waiting out
the grace period to be killed, maybe mid-send."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from stack.config import ROOT
from stack.processes import flask_command, relay_command


class Running:
    """A process whose stderr (the kit's JSON log lines) is read as it comes."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} in:\n" + "".join(self.lines)
            time.sleep(0.05)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, float]:
        """Send `signum`; the exit code and the seconds it took to exit."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        return code, time.monotonic() - sent


def service_env(database, service: str, jwt_keys: dict, **extra: str) -> dict[str, str]:
    bin_dir = os.path.dirname(sys.executable)
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "DATABASE_URL": database.url(service),
        "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
        "OUTBOX_SECRET": "probe",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def migrated(service: str, env: dict[str, str]) -> None:
    subprocess.run(
        flask_command(service, "db", "upgrade"), env=env, cwd=ROOT, check=True, capture_output=True
    )


@pytest.mark.slow
def test_an_outbox_relay_stops_on_sigterm_at_once_with_exit_code_0(database, jwt_keys):
    env = service_env(database, "inventory", jwt_keys, OUTBOX_SUBSCRIBERS="")
    migrated("inventory", env)
    relay = Running(relay_command("inventory"), env)
    relay.wait_for("outbox relay started")
    time.sleep(1)  # a few passes and waits

    code, took = relay.stop()

    assert code == 0, "".join(relay.lines)
    assert took < 3
    assert any("stopped on request" in line for line in relay.lines)


@pytest.mark.slow
def test_the_notifications_sender_stops_on_sigterm_at_once_with_exit_code_0(database, jwt_keys):
    env = service_env(database, "notifications", jwt_keys)
    migrated("notifications", env)
    sender = Running(flask_command("notifications", "sender"), env)
    sender.wait_for("notifications sender started")
    time.sleep(1)

    code, took = sender.stop()

    assert code == 0, "".join(sender.lines)
    assert took < 3
    assert any("stopped on request" in line for line in sender.lines)


# A loop of two passes on the kit's Stopping, as the relay and the sender use it: the second
# pass signals its own process halfway and carries on; the loop ends after it, without waiting.
MID_PASS = """
import os, signal, sys, time
from services.kit.outbox import Stopping
passes = []
with Stopping() as stop:
    while not stop.requested:
        passes.append("started")
        if len(passes) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.3)
        passes[-1] = "finished"
        stop.wait(0.01 if len(passes) == 1 else 60)
print(" ".join(passes))
"""

# A loop waiting between passes (a minute), told to stop from outside.
WAITING = """
import sys
from services.kit.outbox import Stopping
with Stopping() as stop:
    while not stop.requested:
        print("waiting", flush=True)
        stop.wait(60)
print("stopped", flush=True)
"""


def test_a_stop_asked_mid_pass_lets_the_pass_finish_then_ends_the_loop():
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", MID_PASS], cwd=ROOT, capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["finished", "finished"]
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_asked_between_passes_ends_the_wait_at_once(signum):
    loop = Running([sys.executable, "-c", WAITING], dict(os.environ))
    loop.wait_for("waiting")

    code, took = loop.stop(signum)

    assert code == 0, "".join(loop.lines)
    assert took < 2
    assert loop.lines[-1].strip() == "stopped"


def grace_of(deployment: dict) -> int:
    return deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_the_collector_workers_grace_covers_a_site_request_and_the_products_call_after_it():
    """Killed at 30 s (the request's own deadline), a worker cut off mid-call leaves its run
    `running` until the recovery fails it: its pods wait out a request under way, then the
    slowest products call with its retries, and a margin, from the settings its ConfigMap holds."""
    from deploy.kubernetes.manifests import BASE
    from services.collector.products import SLOW_READ_TIMEOUT_S
    from stack.config import parse_env_file
    from stack.processes import STOP_MARGIN_S

    settings = parse_env_file(BASE / "config" / "collector-worker.env")
    deployment = next(
        doc
        for doc in yaml.safe_load_all((BASE / "collector.yaml").read_text())
        if doc and doc["kind"] == "Deployment" and doc["metadata"]["name"] == "collector-worker"
    )
    request = float(settings["COLLECTOR_TOTAL_TIMEOUT_S"])
    products_call = (int(settings["HTTP_RETRIES"]) + 1) * (
        float(settings["HTTP_CONNECT_TIMEOUT"]) + SLOW_READ_TIMEOUT_S
    )

    assert grace_of(deployment) == math.ceil(request + products_call + STOP_MARGIN_S)
    assert grace_of(deployment) > 30


def test_a_longer_request_deadline_lengthens_the_collector_workers_grace(monkeypatch):
    from deploy.kubernetes import manifests

    def grace(total_timeout: str) -> int:
        monkeypatch.setitem(manifests.CLUSTER_SETTINGS, "COLLECTOR_TOTAL_TIMEOUT_S", total_timeout)
        cfg = manifests.ClusterConfig(["collector"])
        process = next(p for p in manifests.processes(cfg) if p.name == "collector-worker")
        return grace_of(manifests.deployment(process, set(cfg.secrets()))[0])

    assert grace("90") - grace("30") == 60


def test_only_the_workers_that_may_need_longer_get_more_than_the_default_grace():
    from deploy.kubernetes.manifests import BASE, GRACE_S

    graces = {
        doc["metadata"]["name"]: grace_of(doc)
        for path in BASE.glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "Deployment"
    }

    longer = {name for name, grace in graces.items() if grace != GRACE_S}
    assert longer == {"collector-worker", "notifications-sender"}
    assert min(graces.values()) == GRACE_S
