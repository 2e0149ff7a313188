"""A service run as several copies (SCALE > 1, `NAME_URLS`): its direct leg is asked of every
copy, so one silent copy makes the target degraded, named, and opens no incident; none answering
is the failure it always was."""

import pytest
import requests
from flask import Flask
from sqlalchemy import text

from monitoring.checks import check_pair
from monitoring.config import DEFAULT_FILE, load, parse
from monitoring.notify import Notifier
from monitoring.worker import Monitor
from services.kit.testing import LiveServer, unreachable_url

from .test_config import ENV


@pytest.fixture(scope="module")
def healthy():
    """One copy that answers, standing for the gateway as well."""
    app = Flask("copy")

    @app.get("/health/ready")
    def ready():
        return {"status": "ok"}

    @app.get("/health/clients")
    def through_the_gateway():
        return {"status": "ok"}

    server = LiveServer(app).start()
    yield server.base_url
    server.stop()


def clients_pair(env):
    raw = {
        "targets": [
            {
                "name": "clients",
                "kind": "pair",
                "enabled_if_service": "clients",
                "direct": {"url": "${CLIENTS_URL}/health/ready"},
                "via_gateway": {"url": "${GATEWAY_URL}/health/clients"},
            }
        ]
    }
    return parse(raw, env)


def copies_env(*urls, gateway):
    return {**ENV, "CLIENTS_URL": urls[0], "CLIENTS_URLS": ",".join(urls), "GATEWAY_URL": gateway}


def test_the_shipped_file_asks_every_copy_when_the_stack_runs_several():
    env = {**ENV, "CLIENTS_URLS": "http://127.0.0.1:5002,http://127.0.0.1:5102"}
    clients = load(DEFAULT_FILE, env).target("clients")
    assert [copy.url for copy in clients.direct_copies] == [
        "http://127.0.0.1:5002/health/ready",
        "http://127.0.0.1:5102/health/ready",
    ]
    assert clients.direct_copies[0].json == clients.direct.json
    # One copy (or no NAME_URLS, as on Kubernetes, where the URL is the Service): the one URL.
    assert load(DEFAULT_FILE, ENV).target("clients").direct_copies == ()
    one = {**ENV, "CLIENTS_URLS": "http://127.0.0.1:5002"}
    assert load(DEFAULT_FILE, one).target("clients").direct_copies == ()


def test_one_silent_copy_is_a_degraded_success_naming_it(healthy):
    silent = unreachable_url()
    target = clients_pair(copies_env(healthy, silent, gateway=healthy)).target("clients")
    with requests.Session() as session:
        result = check_pair(target, session)
    assert result.ok and result.degraded
    assert result.step == "direct"
    assert result.error.startswith(f"copy 2 of 2 ({silent.split('/')[2]}): ")
    assert [s["ok"] for s in result.steps] == [True, True]


def test_no_copy_answering_fails_the_direct_leg_with_every_reason(healthy):
    first, second = unreachable_url(), unreachable_url()
    target = clients_pair(copies_env(first, second, gateway=healthy)).target("clients")
    with requests.Session() as session:
        result = check_pair(target, session)
    assert not result.ok and not result.degraded
    assert result.step == "direct"
    assert result.error.startswith("no copy answers: copy 1 of 2")
    assert "copy 2 of 2" in result.error


def test_every_copy_answering_is_up(healthy):
    target = clients_pair(copies_env(healthy, healthy, gateway=healthy)).target("clients")
    with requests.Session() as session:
        result = check_pair(target, session)
    assert result.ok and not result.degraded and result.error is None


def test_a_silent_copy_keeps_the_target_degraded_with_its_reason_and_opens_no_incident(
    app, session, web, healthy
):
    silent = unreachable_url()
    watcher = Monitor(
        app, clients_pair(copies_env(healthy, silent, gateway=healthy)), Notifier(None)
    )
    watcher.restore()
    for _ in range(4):
        watcher.observe("clients", watcher.run_check("clients"))
    assert watcher.tracked["clients"].state.state == "degraded"
    assert session.execute(text("SELECT count(*) FROM monitoring.incidents")).scalar() == 0
    [row] = [t for t in web.get("/status/api/summary").json["targets"] if t["name"] == "clients"]
    assert row["state"] == "degraded"
    page = web.get("/status").get_data(as_text=True)
    assert f"direct: copy 2 of 2 ({silent.split('/')[2]})" in page
