"""The stack's life cycle around failures: a failed `make test-stack` leaves nothing running, `up`
stops a stale stack of its own and names whatever else holds its ports, and `make status` says
what runs and fails when something does not."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.kit.testing import free_port
from services.registry import SERVICES
from stack import __main__ as stack_cli
from stack import processes
from stack.config import ROOT, StackConfig, parse_env_file
from stack.processes import Program


@pytest.fixture
def cfg(tmp_path) -> StackConfig:
    # Every port of the stack its own, so a developer's stack running beside the tests (on
    # the default ports) is never taken for a stale one of this run directory.
    names = ("FEIRA_GATEWAY", "FEIRA_PG", *(service.name.upper() for service in SERVICES))
    ports = {f"{name}_PORT": str(free_port()) for name in names}
    config = StackConfig(
        {
            **parse_env_file(ROOT / ".env.example"),
            **ports,
            "FEIRA_RUN_DIR": str(tmp_path / "run"),
            "OUTBOX_SECRET": "x",
            # No stand-in: it would take its fixed port (test_standins.py covers it).
            "FEIRA_STANDINS": "",
        }
    )
    yield config
    stack_cli.down(config)


def listener(port: int) -> list[str]:
    """A process that listens on `port` until stopped."""
    return [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]


def start_supervisord(cfg: StackConfig, monkeypatch, listed: list[Program]) -> None:
    """Our supervisord, rendered from the real template, running `listed` instead of the stack."""
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(processes, "programs", lambda *a: listed)
    processes.render_supervisor(cfg, cfg.db_passwords())
    subprocess.run(
        [str(processes.VENV_BIN / "supervisord"), "-c", str(cfg.run_dir / "supervisord.conf")],
        check=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 15
    while "STARTING" in stack_cli.supervisorctl(cfg, "status", check=False).stdout or not (
        stack_cli.supervisor_running(cfg)
    ):
        assert time.monotonic() < deadline, "supervisord did not start its programs"
        time.sleep(0.2)


def wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while stack_cli.port_free("127.0.0.1", port):
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.1)


def status(cfg: StackConfig) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stack", "status"],
        cwd=ROOT,
        env={**os.environ, "FEIRA_RUN_DIR": str(cfg.run_dir)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_test_stack_that_fails_to_start_is_taken_down(tmp_path):
    calls = tmp_path / "calls"
    fake = tmp_path / "fake-stack"
    # Stands for `python -m stack`: records each command, and `up` fails half-way.
    fake.write_text(f'#!/bin/sh\necho "$1" >> {calls}\n[ "$1" != up ]\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)

    run = subprocess.run(
        ["make", "-o", ".venv/.installed", "test-stack", f"TEST_STACK={fake}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert run.returncode != 0
    assert calls.read_text().split() == ["clean", "up", "down"]


def test_up_names_the_process_that_holds_a_stack_port_and_starts_nothing(cfg):
    squatter = subprocess.Popen(listener(cfg.gateway_port), stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(cfg.gateway_port)
        with pytest.raises(SystemExit) as refused:
            stack_cli.up(cfg)
    finally:
        squatter.terminate()
        squatter.wait()
        stack_cli.clean(cfg)

    message = str(refused.value)
    assert f"port {cfg.gateway_port} (gateway) is held by pid {squatter.pid}" in message
    assert "http.server" in message
    assert not (cfg.run_dir / "supervisord.pid").exists()


def test_up_stops_a_stale_stack_of_its_own_run_directory(cfg, monkeypatch):
    ports = {"gateway": cfg.gateway_port, "auth": cfg.port("auth")}
    start_supervisord(
        cfg, monkeypatch, [Program(name, listener(port), port) for name, port in ports.items()]
    )
    for port in ports.values():
        wait_until_listening(port)
    stale = int((cfg.run_dir / "supervisord.pid").read_text())
    # An earlier run's stack whose control socket is gone (`clean` removed the run directory).
    (cfg.run_dir / "supervisor.sock").unlink()

    stack_cli.clear_stale(cfg)

    assert not os.path.exists(f"/proc/{stale}")
    assert all(stack_cli.port_free(cfg.host, port) for port in ports.values())


def test_status_lists_every_program_running_and_succeeds(cfg, monkeypatch):
    start_supervisord(
        cfg,
        monkeypatch,
        [Program("one", ["sleep", "600"], 0), Program("two", ["sleep", "600"], 0)],
    )

    shown = status(cfg)

    assert shown.returncode == 0, shown.stdout + shown.stderr
    states = {line.split()[0]: line.split()[1] for line in shown.stdout.splitlines()}
    assert states == {"one": "RUNNING", "two": "RUNNING"}


def test_status_fails_when_a_program_is_not_running(cfg, monkeypatch):
    start_supervisord(
        cfg,
        monkeypatch,
        [Program("one", ["sleep", "600"], 0), Program("two", ["sleep", "600"], 0)],
    )
    stack_cli.supervisorctl(cfg, "stop", "two", check=False)

    shown = status(cfg)

    assert shown.returncode != 0
    assert "two" in shown.stdout and "STOPPED" in shown.stdout


def test_status_fails_when_the_stack_is_not_running(cfg):
    shown = status(cfg)

    assert shown.returncode != 0
    assert "not running" in shown.stderr


def test_the_port_probe_sees_a_listener(cfg):
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert not stack_cli.port_free("127.0.0.1", port)
    assert stack_cli.port_free("127.0.0.1", port)


SLOW_TO_STOP = """
import signal, sys, time

def stop(*_):
    told = time.time()
    time.sleep(1)
    with open(sys.argv[1], "w") as record:
        record.write(f"{told} {time.time()}")
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(60)
"""


def slow_to_stop(record: Path) -> list[str]:
    """A process that, told to stop, writes when it was told and when it exits a second later."""
    script = record.with_suffix(".py")
    script.write_text(SLOW_TO_STOP)
    return [sys.executable, str(script), str(record)]


def test_down_stops_one_priority_together_and_the_lower_one_after_it(cfg, monkeypatch, tmp_path):
    told = {name: tmp_path / name for name in ("service-a", "service-b", "postgres")}
    start_supervisord(
        cfg,
        monkeypatch,
        [
            Program("service-a", slow_to_stop(told["service-a"]), 0),
            Program("service-b", slow_to_stop(told["service-b"]), 0),
            Program("postgres", slow_to_stop(told["postgres"]), 0, priority=10),
        ],
    )

    stack_cli.down(cfg)

    times = {name: tuple(map(float, path.read_text().split())) for name, path in told.items()}
    services = [times["service-a"], times["service-b"]]
    # Both services were told before either had exited: not one at a time.
    assert max(stopping for stopping, _ in services) < min(exited for _, exited in services)
    # The lower priority only once the higher one had gone.
    assert times["postgres"][0] >= max(exited for _, exited in services)
    assert not stack_cli.supervisor_running(cfg)


def test_down_interrupted_while_it_stops_a_priority_still_shuts_everything_down(cfg, monkeypatch):
    start_supervisord(cfg, monkeypatch, [Program("one", ["sleep", "600"], 0)])

    def interrupted(_cfg):
        raise KeyboardInterrupt

    monkeypatch.setattr(stack_cli, "stop_by_priority", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stack_cli.down(cfg)

    deadline = time.monotonic() + 15
    while stack_cli.supervisor_running(cfg):
        assert time.monotonic() < deadline, "supervisord is still running"
        time.sleep(0.2)


def test_down_stops_in_order_though_a_program_was_read_but_never_added(cfg, monkeypatch, capsys):
    start_supervisord(cfg, monkeypatch, [Program("one", ["sleep", "600"], 0)])
    # A program supervisord has read (`reread`) but not added (`update`): listed, not running.
    monkeypatch.setattr(
        processes,
        "programs",
        lambda *a: [Program("one", ["sleep", "600"], 0), Program("two", ["sleep", "600"], 0)],
    )
    processes.render_supervisor(cfg, cfg.db_passwords())
    stack_cli.supervisorctl(cfg, "reread", check=False)

    stack_cli.down(cfg)

    assert "stopping one at a time" not in capsys.readouterr().out
    assert not stack_cli.supervisor_running(cfg)
