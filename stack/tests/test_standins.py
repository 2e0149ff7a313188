"""The stand-ins for third parties (standins/): the stack runs each (Stripe, WhatsApp, the SMTP
sink) only when FEIRA_STANDINS lists it, on loopback in one process, never behind the gateway;
the Stripe one shares the generated provider key and webhook secret with payments alone, the
WhatsApp one the generated token and app secret with notifications alone."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from bench.payments import _provider_url, _stack_secret
from bench.registry import Context
from services.kit.testing import free_port
from services.registry import BY_NAME
from stack import gateway
from stack.__main__ import stack_ports
from stack.config import (
    MAIL_SETTINGS,
    PROVIDER_SECRETS,
    ROOT,
    WHATSAPP_SECRETS,
    StackConfig,
    load_environment,
    parse_env_file,
    present_services,
)
from stack.processes import program_names, programs, render_supervisor, standin_programs

EXAMPLE = parse_env_file(ROOT / ".env.example")
TEST_ENV = {**EXAMPLE, **parse_env_file(ROOT / "stack" / "test.env")}


def config(tmp_path, base=EXAMPLE, **settings: str) -> StackConfig:
    return StackConfig({**base, "FEIRA_RUN_DIR": str(tmp_path), **settings})


def rendered_programs(cfg: StackConfig) -> str:
    return render_supervisor(cfg, cfg.db_passwords()).read_text()


def standin(cfg: StackConfig, name: str):
    [program] = [p for p in standin_programs(cfg) if p.name == f"{name}-standin"]
    return program


def test_the_supervisor_runs_the_stripe_standin_only_when_feira_standins_lists_it(tmp_path):
    listed = config(tmp_path / "listed", FEIRA_STANDINS="stripe")
    assert "[program:stripe-standin]" in rendered_programs(listed)
    assert "stripe-standin" in program_names(listed)
    assert config(tmp_path / "spaces", FEIRA_STANDINS=" other , Stripe ").standins >= {"stripe"}
    for value in ("", "other"):
        unlisted = config(tmp_path / f"unlisted{value}", FEIRA_STANDINS=value)
        assert "stripe-standin" not in rendered_programs(unlisted)
        assert "stripe-standin" not in program_names(unlisted)
        assert standin_programs(unlisted) == []


def test_the_example_and_test_stacks_run_them_on_their_ports(tmp_path):
    assert EXAMPLE["FEIRA_STANDINS"] == "stripe,whatsapp,smtp,shops"
    assert TEST_ENV["FEIRA_STANDINS"] == "stripe,whatsapp,smtp,shops"
    dev = config(tmp_path / "dev")
    test = config(tmp_path / "test", TEST_ENV)
    ports = {
        (p.name, p.port, p.http_port): cfg_name
        for cfg_name, cfg in (("dev", dev), ("test", test))
        for p in standin_programs(cfg)
    }
    assert ports == {
        ("stripe-standin", 5090, None): "dev",
        ("whatsapp-standin", 5091, None): "dev",
        ("smtp-standin", 5025, 5026): "dev",
        ("shops-standin", 5092, None): "dev",
        ("stripe-standin", 15090, None): "test",
        ("whatsapp-standin", 15091, None): "test",
        ("smtp-standin", 15025, 15026): "test",
        ("shops-standin", 15092, None): "test",
    }
    assert program_names(dev)[1:5] == [
        "stripe-standin",
        "whatsapp-standin",
        "smtp-standin",
        "shops-standin",
    ]


def test_the_shops_slow_page_outlasts_the_collectors_read_timeout_unless_set(tmp_path):
    def slow_s(cfg: StackConfig) -> float:
        (shops,) = [p for p in standin_programs(cfg) if p.name == "shops-standin"]
        return float(shops.environment["SHOPS_STANDIN_SLOW_S"])

    def read_timeout(cfg: StackConfig) -> float:
        return float(cfg.get("COLLECTOR_READ_TIMEOUT_S"))

    dev = config(tmp_path / "dev")
    test = config(tmp_path / "test", TEST_ENV)
    for cfg in (dev, test):
        assert slow_s(cfg) > read_timeout(cfg)
    assert slow_s(config(tmp_path / "long", COLLECTOR_READ_TIMEOUT_S="25")) > 25
    assert slow_s(config(tmp_path / "set", SHOPS_STANDIN_SLOW_S="0.5")) == 0.5


def test_the_whatsapp_and_smtp_standins_run_only_when_listed(tmp_path):
    for listed, absent in (("whatsapp", "smtp"), ("smtp", "whatsapp")):
        cfg = config(tmp_path / listed, FEIRA_STANDINS=listed)
        assert [p.name for p in standin_programs(cfg)] == [f"{listed}-standin"]
        assert f"[program:{listed}-standin]" in rendered_programs(cfg)
        assert f"{absent}-standin" not in rendered_programs(cfg)
        assert f"{absent}-standin" not in program_names(cfg)


def test_the_standin_is_one_gunicorn_worker_on_loopback_started_before_the_services(tmp_path):
    cfg = config(tmp_path)
    services = [p for p in programs(cfg, cfg.db_passwords()) if p.name in cfg.services]
    for name, port in (("stripe", 5090), ("whatsapp", 5091), ("shops", 5092)):
        program = standin(cfg, name)
        assert program.command[-1] == f"standins.{name}:create_app()"
        assert program.environment["GUNICORN_WORKERS"] == "1"
        assert program.environment["SERVICE_HOST"] == "127.0.0.1"
        assert program.environment["PORT"] == str(port)
        assert all(program.priority < service.priority for service in services)
        assert stack_ports(cfg)[port] == f"{name}-standin"
    sink = standin(cfg, "smtp")
    assert sink.command[1:] == ["-m", "standins.smtp"]
    assert sink.environment["SERVICE_HOST"] == "127.0.0.1"
    assert (sink.environment["SMTP_STANDIN_PORT"], sink.environment["SMTP_STANDIN_HTTP_PORT"]) == (
        "5025",
        "5026",
    )
    assert all(sink.priority < service.priority for service in services)
    assert stack_ports(cfg)[5025] == stack_ports(cfg)[5026] == "smtp-standin"


def test_the_gateway_never_routes_to_a_standin(tmp_path, monkeypatch):
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    monkeypatch.setattr(gateway, "worker_user", lambda cfg: "")
    for name, base in (("dev", EXAMPLE), ("test", TEST_ENV)):
        cfg = config(tmp_path / name, base)
        listed = standin_programs(cfg)
        assert len(listed) == 4
        text = gateway.render(cfg).read_text()
        for program in listed:
            for port in (program.port, program.http_port):
                if port is not None:
                    assert f":{port}" not in text, (name, program.name, port)
        assert "standin" not in text, name
        assert "_standin" not in text, name


def test_the_standin_and_payments_alone_hold_the_generated_provider_key_and_secret(tmp_path):
    cfg = config(tmp_path)
    stripe = standin(cfg, "stripe")
    key = stripe.environment["PAYMENTS_PROVIDER_SECRET_KEY"]
    secret = stripe.environment["PAYMENTS_WEBHOOK_SECRET"]
    assert key.startswith("sk_test_") and len(key) > 24
    assert secret.startswith("whsec_") and len(secret) > 22
    stored = parse_env_file(tmp_path / "secrets.env")
    assert (stored["PAYMENTS_PROVIDER_SECRET_KEY"], stored["PAYMENTS_WEBHOOK_SECRET"]) == (
        key,
        secret,
    )
    assert oct((tmp_path / "secrets.env").stat().st_mode & 0o777) == "0o600"
    assert cfg.payments_provider()["PAYMENTS_PROVIDER_SECRET_KEY"] == key
    assert cfg.payments_provider()["PAYMENTS_WEBHOOK_SECRET"] == secret
    for program in programs(cfg, cfg.db_passwords()):
        held = {"PAYMENTS_PROVIDER_URL", *PROVIDER_SECRETS} & set(program.environment)
        if program.name.split("-")[0] == "payments":
            assert program.environment["PAYMENTS_PROVIDER_SECRET_KEY"] == key, program.name
            assert program.environment["PAYMENTS_WEBHOOK_SECRET"] == secret, program.name
        else:
            assert not held, f"{program.name} holds {sorted(held)}"


def test_real_stripe_values_from_the_environment_win_over_generated_ones(tmp_path):
    cfg = config(
        tmp_path,
        PAYMENTS_PROVIDER_URL="https://api.stripe.com",
        PAYMENTS_PROVIDER_SECRET_KEY="sk_live_from_dashboard",
        PAYMENTS_WEBHOOK_SECRET="whsec_from_dashboard",
        FEIRA_STANDINS="",
    )
    assert cfg.payments_provider() == {
        "PAYMENTS_PROVIDER_URL": "https://api.stripe.com",
        "PAYMENTS_PROVIDER_SECRET_KEY": "sk_live_from_dashboard",
        "PAYMENTS_WEBHOOK_SECRET": "whsec_from_dashboard",
    }


def test_the_provider_url_is_the_standins_when_it_runs_and_absent_when_nothing_says(tmp_path):
    running = config(tmp_path, base=TEST_ENV)
    assert running.payments_provider()["PAYMENTS_PROVIDER_URL"] == "http://127.0.0.1:15090"
    absent = config(tmp_path, FEIRA_STANDINS="")
    assert "PAYMENTS_PROVIDER_URL" not in absent.payments_provider()


def test_the_standin_posts_its_webhooks_to_the_gateways_public_payments_route(tmp_path):
    stripe = standin(config(tmp_path, TEST_ENV), "stripe")
    assert stripe.environment["STRIPE_STANDIN_WEBHOOK_URL"] == (
        "http://127.0.0.1:18080/payments/webhooks/stripe"
    )
    assert stripe.environment["STRIPE_STANDIN_PIX_KEY"] == "pix@feira.local"
    other = standin(
        config(tmp_path, TEST_ENV, STRIPE_STANDIN_WEBHOOK_URL="http://127.0.0.1:9/hook"), "stripe"
    )
    assert other.environment["STRIPE_STANDIN_WEBHOOK_URL"] == "http://127.0.0.1:9/hook"


def test_the_supervised_command_serves_the_standins_health_route(tmp_path):
    port = free_port()
    stripe = standin(config(tmp_path, STRIPE_STANDIN_PORT=str(port)), "stripe")
    server = subprocess.Popen(
        stripe.command,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **stripe.environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_standin/health", server)
        key = stripe.environment["PAYMENTS_PROVIDER_SECRET_KEY"]
        refused = requests.get(
            f"http://127.0.0.1:{port}/v1/payment_intents/pi_x",
            headers={"Authorization": "Bearer sk_test_wrong"},
            timeout=10,
        )
        assert refused.status_code == 401
        known = requests.get(
            f"http://127.0.0.1:{port}/v1/payment_intents/pi_x",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert known.json()["error"]["code"] == "resource_missing"
    finally:
        server.terminate()
        server.wait(timeout=15)


# --- WhatsApp and the SMTP sink ---


def test_the_whatsapp_standin_and_notifications_alone_hold_the_generated_whatsapp_secrets(
    tmp_path,
):
    cfg = config(tmp_path)
    whatsapp = standin(cfg, "whatsapp")
    stored = parse_env_file(tmp_path / "secrets.env")
    for key in WHATSAPP_SECRETS:
        assert len(stored[key]) >= 32, key
    assert whatsapp.environment["WHATSAPP_ACCESS_TOKEN"] == stored["WHATSAPP_ACCESS_TOKEN"]
    assert whatsapp.environment["WHATSAPP_APP_SECRET"] == stored["WHATSAPP_APP_SECRET"]
    # The handshake's verify token is notifications' alone: the stand-in has no use for it.
    assert "WHATSAPP_VERIFY_TOKEN" not in whatsapp.environment
    assert {key: cfg.whatsapp()[key] for key in WHATSAPP_SECRETS} == {
        key: stored[key] for key in WHATSAPP_SECRETS
    }
    held_by = set()
    for program in programs(cfg, cfg.db_passwords()):
        held = set(WHATSAPP_SECRETS) & set(program.environment)
        if program.name.split("-")[0] == "notifications":
            assert held == set(WHATSAPP_SECRETS), program.name
            for key in WHATSAPP_SECRETS:
                assert program.environment[key] == stored[key], (program.name, key)
            held_by.add(program.name)
        else:
            assert not held, f"{program.name} holds {sorted(held)}"
    if "notifications" in cfg.services:
        assert {"notifications", "notifications-sender"} <= held_by


def test_notifications_programs_get_the_standins_api_url_and_the_smtp_sink(tmp_path):
    cfg = config(tmp_path, TEST_ENV)
    assert cfg.whatsapp()["WHATSAPP_API_URL"] == "http://127.0.0.1:15091"
    assert cfg.whatsapp()["WHATSAPP_API_VERSION"] == "21.0"
    assert cfg.whatsapp()["WHATSAPP_PHONE_NUMBER_ID"] == "100000000000001"
    assert cfg.mail() == {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "15025",
        "SMTP_STARTTLS": "false",
        "MAIL_FROM": "Feira <no-reply@feira.local>",
    }
    if "notifications" not in cfg.services:
        pytest.skip("services/notifications is not in the registry and checkout yet")
    listed = {p.name: p for p in programs(cfg, cfg.db_passwords())}
    for name in ("notifications", "notifications-sender"):
        environment = listed[name].environment
        assert environment["WHATSAPP_API_URL"] == "http://127.0.0.1:15091", name
        assert environment["SMTP_PORT"] == "15025", name
        assert environment["MAIL_FROM"] == "Feira <no-reply@feira.local>", name


def test_without_the_standins_nothing_points_at_them(tmp_path):
    cfg = config(tmp_path, FEIRA_STANDINS="stripe")
    assert "WHATSAPP_API_URL" not in cfg.whatsapp()
    assert "SMTP_PORT" not in cfg.mail()


def test_meta_and_a_real_smtp_servers_values_from_the_environment_win(tmp_path):
    cfg = config(
        tmp_path,
        FEIRA_STANDINS="",
        WHATSAPP_API_URL="https://graph.facebook.com",
        WHATSAPP_API_VERSION="22.0",
        WHATSAPP_PHONE_NUMBER_ID="123456789012345",
        WHATSAPP_ACCESS_TOKEN="EAAfromthebusinessmanager",
        WHATSAPP_APP_SECRET="appsecretfromthedashboard",
        WHATSAPP_VERIFY_TOKEN="typedintothewebhooksettings",
        SMTP_HOST="smtp.example.com",
        SMTP_PORT="587",
        SMTP_USER="feira",
        SMTP_PASSWORD="mail-password",
        SMTP_STARTTLS="true",
        MAIL_FROM="Feira <loja@example.com>",
    )
    assert cfg.whatsapp() == {
        "WHATSAPP_API_URL": "https://graph.facebook.com",
        "WHATSAPP_API_VERSION": "22.0",
        "WHATSAPP_PHONE_NUMBER_ID": "123456789012345",
        "WHATSAPP_ACCESS_TOKEN": "EAAfromthebusinessmanager",
        "WHATSAPP_APP_SECRET": "appsecretfromthedashboard",
        "WHATSAPP_VERIFY_TOKEN": "typedintothewebhooksettings",
    }
    assert cfg.mail() == {
        "SMTP_HOST": "smtp.example.com",
        "SMTP_PORT": "587",
        "SMTP_USER": "feira",
        "SMTP_PASSWORD": "mail-password",
        "SMTP_STARTTLS": "true",
        "MAIL_FROM": "Feira <loja@example.com>",
    }


# A developer's .env as README's "to use the real Stripe / Meta / mail server" paragraphs have it.
REAL_PARTIES = {
    "FEIRA_STANDINS": "",
    "PAYMENTS_PROVIDER_URL": "https://api.stripe.com",
    "PAYMENTS_PROVIDER_SECRET_KEY": "sk_live_from_dashboard",
    "PAYMENTS_WEBHOOK_SECRET": "whsec_from_dashboard",
    "WHATSAPP_API_URL": "https://graph.facebook.com",
    "WHATSAPP_PHONE_NUMBER_ID": "123456789012345",
    "WHATSAPP_ACCESS_TOKEN": "EAAfromthebusinessmanager",
    "WHATSAPP_APP_SECRET": "appsecretfromthedashboard",
    "WHATSAPP_VERIFY_TOKEN": "typedintothewebhooksettings",
    "SMTP_HOST": "smtp.example.com",
    "SMTP_PORT": "587",
    "SMTP_USER": "feira",
    "SMTP_PASSWORD": "mail-password",
    "SMTP_STARTTLS": "true",
    "MAIL_FROM": "Feira <loja@example.com>",
}
# What no process or stand-in of a stack that lists the stand-ins is told: the real parties'
# addresses and secrets.
REAL_ADDRESSES = (
    "api.stripe.com",
    "graph.facebook.com",
    "smtp.example.com",
    "mail-password",
    "sk_live_from_dashboard",
    "whsec_from_dashboard",
    "EAAfromthebusinessmanager",
    "appsecretfromthedashboard",
    "typedintothewebhooksettings",
)
# The checkout's services, found before a test points ROOT at a checkout of settings only.
PRESENT = present_services()


def loaded(tmp_path, monkeypatch, dotenv: dict[str, str], env_file: str = "") -> StackConfig:
    """The stack's settings as `python -m stack` loads them, from a checkout in tmp_path with
    the repository's .env.example and stack/test.env and this .env (FEIRA_ENV_FILE: env_file)."""
    (tmp_path / "stack").mkdir(parents=True)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    shutil.copy(ROOT / "stack" / "test.env", tmp_path / "stack" / "test.env")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in dotenv.items()))
    monkeypatch.setattr("stack.config.ROOT", tmp_path)
    for key in [key for key in os.environ if key.startswith("FEIRA_")]:
        monkeypatch.delenv(key)
    if env_file:
        monkeypatch.setenv("FEIRA_ENV_FILE", env_file)
    return StackConfig(load_environment(), services=PRESENT)


def test_the_test_stack_uses_its_standins_whatever_the_developers_env_says(tmp_path, monkeypatch):
    cfg = loaded(tmp_path, monkeypatch, REAL_PARTIES, env_file="stack/test.env")
    assert cfg.run_dir == tmp_path / ".run" / "test"
    assert cfg.payments_provider()["PAYMENTS_PROVIDER_URL"] == "http://127.0.0.1:15090"
    assert cfg.whatsapp()["WHATSAPP_API_URL"] == "http://127.0.0.1:15091"
    assert cfg.mail() == {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "15025",
        "SMTP_STARTTLS": "false",
        "MAIL_FROM": "Feira <loja@example.com>",
    }
    # No process or stand-in of the test stack is told of a real party's address or secret,
    # nor the mail password, and none is stored in its secrets.env.
    conf = rendered_programs(cfg)
    stored = (cfg.run_dir / "secrets.env").read_text()
    for address in REAL_ADDRESSES:
        assert address not in conf, address
        assert address not in stored, address
    # `make up` names what it does not use, never the values.
    assert cfg.overridden_settings() == [
        "PAYMENTS_PROVIDER_URL",
        "WHATSAPP_API_URL",
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "SMTP_STARTTLS",
        "PAYMENTS_PROVIDER_SECRET_KEY",
        "PAYMENTS_WEBHOOK_SECRET",
        "WHATSAPP_ACCESS_TOKEN",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
    ]


def test_a_real_secret_an_earlier_test_stack_stored_is_replaced(tmp_path, monkeypatch):
    """Before the stand-ins' secrets won over .env's, the test stack stored the developer's."""
    run_dir = tmp_path / ".run" / "test"
    run_dir.mkdir(parents=True)
    (run_dir / "secrets.env").write_text(
        "".join(f"{key}={REAL_PARTIES[key]}\n" for key in [*PROVIDER_SECRETS, *WHATSAPP_SECRETS])
    )
    cfg = loaded(tmp_path, monkeypatch, REAL_PARTIES, env_file="stack/test.env")
    provider, whatsapp = cfg.payments_provider(), cfg.whatsapp()
    assert provider["PAYMENTS_PROVIDER_SECRET_KEY"].startswith("sk_test_")
    assert provider["PAYMENTS_WEBHOOK_SECRET"] != REAL_PARTIES["PAYMENTS_WEBHOOK_SECRET"]
    for key in WHATSAPP_SECRETS:
        assert whatsapp[key] != REAL_PARTIES[key], key
    stored = (run_dir / "secrets.env").read_text()
    for address in REAL_ADDRESSES:
        assert address not in stored, address


def test_robot_and_the_bench_sign_with_the_secrets_the_standins_hold(tmp_path, monkeypatch):
    """The webhooks Robot's scenarios and the bench sign themselves are the stand-ins' own,
    not signed with the developer's secret from .env that the stack does not use."""
    cfg = loaded(tmp_path, monkeypatch, REAL_PARTIES, env_file="stack/test.env")
    stripe, whatsapp = standin(cfg, "stripe"), standin(cfg, "whatsapp")
    monkeypatch.syspath_prepend(str(ROOT / "robot-tests" / "variables"))
    monkeypatch.delitem(sys.modules, "local", raising=False)
    robot = importlib.import_module("local").get_variables()
    assert robot["WEBHOOK_SECRET"] == stripe.environment["PAYMENTS_WEBHOOK_SECRET"]
    assert robot["WHATSAPP_APP_SECRET"] == whatsapp.environment["WHATSAPP_APP_SECRET"]
    assert robot["WHATSAPP_VERIFY_TOKEN"] == cfg.whatsapp()["WHATSAPP_VERIFY_TOKEN"]
    bench = Context(cfg)
    for key in PROVIDER_SECRETS:
        assert _stack_secret(bench, key) == stripe.environment[key], key
    assert _provider_url(bench) == "http://127.0.0.1:15090"


def test_a_party_dropped_from_feira_standins_is_reached_at_its_real_address(tmp_path, monkeypatch):
    real = loaded(tmp_path / "real", monkeypatch, REAL_PARTIES)
    assert real.payments_provider()["PAYMENTS_PROVIDER_URL"] == "https://api.stripe.com"
    assert real.whatsapp()["WHATSAPP_API_URL"] == "https://graph.facebook.com"
    assert real.mail() == {key: REAL_PARTIES[key] for key in MAIL_SETTINGS}
    assert real.overridden_settings() == []
    stripe_only = loaded(
        tmp_path / "stripe",
        monkeypatch,
        {**REAL_PARTIES, "FEIRA_STANDINS": "whatsapp,smtp,shops"},
    )
    assert stripe_only.payments_provider()["PAYMENTS_PROVIDER_URL"] == "https://api.stripe.com"
    assert stripe_only.whatsapp()["WHATSAPP_API_URL"] == "http://127.0.0.1:5091"
    assert stripe_only.mail()["SMTP_PORT"] == "5025"
    assert "PAYMENTS_PROVIDER_URL" not in stripe_only.overridden_settings()


def test_the_mail_settings_reach_notifications_and_the_monitoring_worker_only(tmp_path):
    cfg = config(
        tmp_path,
        FEIRA_STANDINS="stripe,whatsapp,shops",
        SMTP_HOST="smtp.example.com",
        SMTP_PORT="587",
        SMTP_USER="feira",
        SMTP_PASSWORD="mail-password",
    )
    receivers = set()
    for program in programs(cfg, cfg.db_passwords()):
        held = set(MAIL_SETTINGS) & set(program.environment)
        if program.name.split("-")[0] == "notifications" or program.name == "monitoring-worker":
            assert held == set(MAIL_SETTINGS), program.name
            assert program.environment["SMTP_PASSWORD"] == "mail-password"
            receivers.add(program.name)
        else:
            assert not held, f"{program.name} holds {sorted(held)}"
    assert "monitoring-worker" in receivers
    for program in standin_programs(cfg):
        assert not set(MAIL_SETTINGS) & set(program.environment), program.name


def test_the_whatsapp_standin_posts_status_webhooks_to_the_gateways_public_route(tmp_path):
    whatsapp = standin(config(tmp_path, TEST_ENV), "whatsapp")
    assert whatsapp.environment["WHATSAPP_STANDIN_WEBHOOK_URL"] == (
        "http://127.0.0.1:18080/notifications/webhooks/whatsapp"
    )
    assert whatsapp.environment["WHATSAPP_STANDIN_REJECT_NUMBERS"] == "5511900000000"
    assert whatsapp.environment["WHATSAPP_PHONE_NUMBER_ID"] == "100000000000001"
    if "notifications" in BY_NAME:
        assert "notifications/webhooks" in BY_NAME["notifications"].public


def wait_for_health(url: str, server: subprocess.Popen) -> None:
    """Until the freshly started stand-in answers 200. A busy host can accept the connection
    before the worker has booted, so a read that times out is waited out like a refused one."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            pytest.fail(f"{url} never answered")
        time.sleep(0.2)


def test_the_supervised_whatsapp_command_checks_the_generated_token(tmp_path):
    port = free_port()
    whatsapp = standin(config(tmp_path, WHATSAPP_STANDIN_PORT=str(port)), "whatsapp")
    server = subprocess.Popen(
        whatsapp.command,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **whatsapp.environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_standin/health", server)
        url = f"http://127.0.0.1:{port}/v21.0/100000000000001/messages"
        body = {"messaging_product": "whatsapp", "to": "5511912345678", "type": "text"}
        body["text"] = {"body": "oi"}
        refused = requests.post(
            url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=10
        )
        assert refused.status_code == 401
        token = whatsapp.environment["WHATSAPP_ACCESS_TOKEN"]
        accepted = requests.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert accepted.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_the_supervised_smtp_sink_takes_mail_and_reads_it_back(tmp_path):
    import smtplib
    from email.message import EmailMessage

    smtp_port, http_port = free_port(), free_port()
    sink = standin(
        config(tmp_path, SMTP_STANDIN_PORT=str(smtp_port), SMTP_STANDIN_HTTP_PORT=str(http_port)),
        "smtp",
    )
    server = subprocess.Popen(
        sink.command,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **sink.environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{http_port}/_standin/health", server)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.org", "sre@feira.local", "hi"
        message.set_content("incident")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:
            smtp.send_message(message)
        answer = requests.get(
            f"http://127.0.0.1:{http_port}/_standin/messages",
            params={"to": "sre@feira.local"},
            timeout=10,
        )
        assert [item["subject"] for item in answer.json()["items"]] == ["hi"]
    finally:
        server.terminate()
        server.wait(timeout=15)
