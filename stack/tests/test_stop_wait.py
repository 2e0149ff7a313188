"""How long supervisord waits, after the stop signal, before it kills a program (stopwaitsecs):
a worker that may still be in a call gets what its settings say that call can take, so a stop
or a restart does not cut it off (a collector run left `running`, a message sent twice)."""

from __future__ import annotations

import configparser
import math

from services import collector
from services.collector.products import SLOW_READ_TIMEOUT_S
from services.kit.mail import DEFAULT_TIMEOUT as MAIL_TIMEOUT
from services.kit.settings import base_config
from services.notifications import whatsapp
from services.registry import SERVICES
from stack.config import ROOT, StackConfig, parse_env_file
from stack.processes import (
    PRODUCTS_SLOW_READ_S,
    SMTP_STEPS,
    STOP_MARGIN_S,
    STOP_TIMES,
    UNSET_DEFAULTS,
    WHATSAPP_TIMEOUT_S,
    render_supervisor,
)

EXAMPLE = parse_env_file(ROOT / ".env.example")


def config(tmp_path, **settings: str) -> StackConfig:
    return StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path), **settings})


def stop_waits(cfg: StackConfig) -> dict[str, int]:
    """Each program's stopwaitsecs, as supervisord reads them from the rendered file."""
    parser = configparser.RawConfigParser()
    parser.read_string(render_supervisor(cfg, cfg.db_passwords()).read_text())
    return {
        section.removeprefix("program:"): parser.getint(section, "stopwaitsecs")
        for section in parser.sections()
        if section.startswith("program:")
    }


def test_the_collector_worker_waits_out_a_site_request_then_the_slowest_products_call(tmp_path):
    # 30 s for the page, then 3 tries of 0.5 s to connect and 60 s to read, then the margin.
    request = float(EXAMPLE["COLLECTOR_TOTAL_TIMEOUT_S"])
    products_call = (int(EXAMPLE["HTTP_RETRIES"]) + 1) * (
        float(EXAMPLE["HTTP_CONNECT_TIMEOUT"]) + SLOW_READ_TIMEOUT_S
    )

    wait = stop_waits(config(tmp_path))["collector-worker"]

    assert wait == math.ceil(request + products_call + STOP_MARGIN_S) == 222


def test_the_collector_workers_wait_follows_its_request_deadline_and_retries(tmp_path):
    base = stop_waits(config(tmp_path / "a"))["collector-worker"]

    longer = stop_waits(config(tmp_path / "b", COLLECTOR_TOTAL_TIMEOUT_S="90"))["collector-worker"]
    unretried = stop_waits(config(tmp_path / "c", HTTP_RETRIES="0"))["collector-worker"]

    assert longer - base == 60
    assert base - unretried == 2 * (float(EXAMPLE["HTTP_CONNECT_TIMEOUT"]) + SLOW_READ_TIMEOUT_S)


def test_the_notifications_sender_waits_out_a_mail_or_a_whatsapp_call_under_way(tmp_path):
    assert stop_waits(config(tmp_path / "a"))["notifications-sender"] == (
        SMTP_STEPS * MAIL_TIMEOUT + STOP_MARGIN_S
    )
    # WhatsApp's timeout, to connect and again to read, once it is the longer.
    slow_whatsapp = config(tmp_path / "b", WHATSAPP_TIMEOUT_S="75")
    assert stop_waits(slow_whatsapp)["notifications-sender"] == 2 * 75 + STOP_MARGIN_S


def test_every_other_program_keeps_the_default_wait_and_each_copy_its_workers(tmp_path):
    waits = stop_waits(config(tmp_path, FEIRA_SCALE="2"))

    assert waits["collector-worker-1"] == waits["collector-worker-2"] == 222
    longer = {name for name, wait in waits.items() if wait != 20}
    assert longer == {
        "collector-worker-1",
        "collector-worker-2",
        "notifications-sender-1",
        "notifications-sender-2",
    }


def test_the_wait_counts_the_read_timeout_the_collector_gives_products_calls():
    assert PRODUCTS_SLOW_READ_S == SLOW_READ_TIMEOUT_S


def test_the_wait_counts_the_whatsapp_timeout_notifications_takes_when_none_is_set():
    assert WHATSAPP_TIMEOUT_S == whatsapp.DEFAULT_TIMEOUT_S


def test_every_worker_given_a_longer_wait_is_one_the_registry_names():
    """A worker renamed in the registry would otherwise fall back to the default wait unseen."""
    workers = {f"{service.name}-{each.name}" for service in SERVICES for each in service.workers}
    assert set(STOP_TIMES) <= workers


def test_a_timeout_left_empty_in_env_counts_as_the_services_default(tmp_path):
    """An empty setting is the service's default, which the process's environment leaves out:
    the wait is then what that default makes it, not a KeyError at `make up`."""
    blank = {key: "" for key in ("HTTP_CONNECT_TIMEOUT", "HTTP_READ_TIMEOUT", "HTTP_RETRIES")}
    waits = stop_waits(config(tmp_path, COLLECTOR_TOTAL_TIMEOUT_S="", **blank))
    assert waits["collector-worker"] == math.ceil(30 + 3 * (0.5 + 60) + STOP_MARGIN_S)


def test_the_wait_assumes_the_defaults_the_services_take_when_a_setting_is_unset(monkeypatch):
    for key in UNSET_DEFAULTS:
        monkeypatch.delenv(key, raising=False)
    kit = base_config("collector")
    assert {
        "HTTP_CONNECT_TIMEOUT": kit["HTTP_CONNECT_TIMEOUT"],
        "HTTP_READ_TIMEOUT": kit["HTTP_READ_TIMEOUT"],
        "HTTP_RETRIES": kit["HTTP_RETRIES"],
        "COLLECTOR_TOTAL_TIMEOUT_S": collector.TOTAL_TIMEOUT_S,
    } == UNSET_DEFAULTS
