"""SCALE: N copies of every web app, relay and worker, each web app copy on its own port (its
port + 100 per copy), the gateway's upstream listing them all, every process told every copy of
the services it calls; `stop clients` stops all copies and `stop clients-2` one. Unset, the
stack is what it always was."""

from __future__ import annotations

import pytest

from services.kit.outbox import parse_subscribers
from services.registry import BY_NAME
from stack import gateway
from stack.__main__ import stack_ports
from stack.config import ROOT, StackConfig, parse_env_file
from stack.processes import copies_of, program_names, programs, render_supervisor

EXAMPLE = parse_env_file(ROOT / ".env.example")


def config(tmp_path, **settings: str) -> StackConfig:
    return StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path), **settings})


def listed(cfg: StackConfig) -> dict:
    return {p.name: p for p in programs(cfg, cfg.db_passwords())}


def test_unset_scale_keeps_every_program_name_and_port(tmp_path):
    cfg = config(tmp_path)
    assert cfg.scale == 1
    names = program_names(cfg)
    assert "clients" in names and "clients-relay" in names and "monitoring-worker" in names
    assert not any(name.endswith(("-1", "-2")) for name in names)
    clients = listed(cfg)["clients"]
    assert clients.port == 5002
    assert "CLIENTS_URLS" not in clients.environment
    assert copies_of(cfg, "clients") == ["clients"]


def test_scale_two_runs_two_copies_of_every_web_app_relay_and_worker(tmp_path):
    cfg = config(tmp_path, FEIRA_SCALE="2")
    names = set(program_names(cfg))
    assert names >= set(listed(cfg))
    for name in cfg.services:
        service = BY_NAME[name]
        assert {f"{name}-1", f"{name}-2"} <= names
        assert name not in names
        if service.has_relay:
            assert {f"{name}-relay-1", f"{name}-relay-2"} <= names
        for worker in service.workers:
            assert {f"{name}-{worker.name}-1", f"{name}-{worker.name}-2"} <= names
    programs_ = listed(cfg)
    assert programs_["clients-1"].port == 5002
    assert programs_["clients-2"].port == 5102
    assert programs_["clients-2"].environment["PORT"] == "5102"
    # Each copy's metrics are its own.
    first = programs_["clients-1"].environment["PROMETHEUS_MULTIPROC_DIR"]
    assert programs_["clients-2"].environment["PROMETHEUS_MULTIPROC_DIR"] != first
    text = render_supervisor(cfg, cfg.db_passwords()).read_text()
    assert "[program:notifications-sender-2]" in text
    assert "[program:monitoring-worker-2]" in text


def test_every_process_is_told_every_copy_of_the_services_it_calls_and_delivers_to(tmp_path):
    cfg = config(tmp_path, FEIRA_SCALE="2")
    orders = listed(cfg)["orders-2"].environment
    assert orders["INVENTORY_URLS"] == "http://127.0.0.1:5004,http://127.0.0.1:5104"
    # NAME_URL stays the first copy's: monitoring's direct checks and other readers of it.
    assert orders["INVENTORY_URL"] == "http://127.0.0.1:5004"
    relay = listed(cfg)["clients-relay-1"].environment
    assert parse_subscribers(relay["OUTBOX_SUBSCRIBERS"])["orders"] == (
        "http://127.0.0.1:5005/internal/events|http://127.0.0.1:5105/internal/events"
    )


def test_the_copies_ports_are_the_stacks_ports(tmp_path):
    cfg = config(tmp_path, FEIRA_SCALE="2")
    ports = stack_ports(cfg)
    assert ports[5102] == "clients" and ports[5002] == "clients"


def test_stop_clients_means_every_copy_and_clients_2_that_one(tmp_path):
    cfg = config(tmp_path, FEIRA_SCALE="2")
    assert copies_of(cfg, "clients") == ["clients-1", "clients-2"]
    assert copies_of(cfg, "clients-relay") == ["clients-relay-1", "clients-relay-2"]
    assert copies_of(cfg, "clients-2") == ["clients-2"]
    assert copies_of(cfg, "gateway") == ["gateway"]


@pytest.mark.parametrize("value", ["0", "10", "two"])
def test_a_scale_out_of_range_stops_the_stack_with_a_message(tmp_path, value):
    with pytest.raises(SystemExit, match="FEIRA_SCALE"):
        _ = config(tmp_path, FEIRA_SCALE=value).scale


def test_the_gateways_upstream_lists_every_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    monkeypatch.setattr(gateway, "worker_user", lambda cfg: "")
    two = gateway.render(config(tmp_path / "two", FEIRA_SCALE="2", OUTBOX_SECRET="x")).read_text()
    block = two[two.index("upstream clients {") : two.index("}", two.index("upstream clients {"))]
    assert "server 127.0.0.1:5002 max_fails=1 fail_timeout=5s;" in block
    assert "server 127.0.0.1:5102 max_fails=1 fail_timeout=5s;" in block
    assert "proxy_next_upstream_tries 2;" in two
    # Non-idempotent requests are never retried once sent (no `non_idempotent`).
    assert "non_idempotent" not in two
    one = gateway.render(config(tmp_path / "one", OUTBOX_SECRET="x")).read_text()
    block = one[one.index("upstream clients {") : one.index("}", one.index("upstream clients {"))]
    assert block.count("server 127.0.0.1:5002 max_fails=0;") == 2
