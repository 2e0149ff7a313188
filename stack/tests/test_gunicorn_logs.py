"""gunicorn's own lines (its start, its workers, a request it refused, a signal, its shutdown) are
JSON in the shape of a service's own (services/kit/observability.py), so every line of a
service's log in .run/logs/ is one JSON object. Run as the stack runs a gunicorn program, on its
stack/gunicorn.conf.py."""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import time

from services.kit.testing import free_port
from stack.config import ROOT, StackConfig, parse_env_file, present_services
from stack.processes import service_command, standin_programs

EXAMPLE = parse_env_file(ROOT / ".env.example")
SHAPE = {"time", "level", "logger", "message", "service", "request_id"}


def test_every_line_gunicorn_writes_is_json_in_the_services_shape(tmp_path):
    port = free_port()
    cfg = StackConfig(
        {
            **EXAMPLE,
            "FEIRA_RUN_DIR": str(tmp_path),
            "FEIRA_STANDINS": "shops",
            "SHOPS_STANDIN_PORT": str(port),
        }
    )
    [shops] = standin_programs(cfg)
    assert shops.command[1:3] == service_command("auth")[1:3]  # the services' own config
    output = tmp_path / "shops-standin.log"
    with output.open("w") as out:
        # As supervisord runs it: stderr into the same log (redirect_stderr).
        process = subprocess.Popen(
            shops.command,
            env={**os.environ, **shops.environment},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(200):
                try:
                    with socket.create_connection((cfg.host, port), timeout=1) as connection:
                        # A control character in a header: gunicorn refuses it itself, and says
                        # so in its log ("Invalid request from ip=...").
                        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n")
                        assert connection.recv(1024).startswith(b"HTTP/1.1 400")
                    break
                except ConnectionRefusedError:
                    assert process.poll() is None, output.read_text()
                    time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    text = output.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # each one a JSON object
    messages = " | ".join(line["message"] for line in lines)
    for said in ("Starting gunicorn", "Booting worker", "Invalid request", "Handling signal"):
        assert said in messages, text
    for line in lines:
        assert set(line) >= SHAPE, line
        assert line["service"] == "shops" and line["logger"] == "gunicorn.error"
    assert {line["level"] for line in lines} >= {"INFO", "WARNING"}


def test_gunicorns_lines_name_the_service_its_command_line_serves(monkeypatch, capsys):
    """`services.auth:create_app()` is auth, `monitoring:create_app()` monitoring: the name the
    service's own lines carry (its SERVICE_NAME)."""
    from gunicorn.config import Config

    monkeypatch.setenv("PORT", "1")
    settings = runpy.run_path(str(ROOT / "stack" / "gunicorn.conf.py"))
    assert settings["logger_class"] is settings["JsonLines"]
    for service in present_services():
        cfg = Config()
        cfg.set("default_proc_name", service_command(service)[-1])
        settings["JsonLines"](cfg).info("booted")
        [line] = capsys.readouterr().err.splitlines()
        assert json.loads(line) == {
            "time": json.loads(line)["time"],
            "level": "INFO",
            "logger": "gunicorn.error",
            "message": "booted",
            "service": service,
            "request_id": None,
        }
