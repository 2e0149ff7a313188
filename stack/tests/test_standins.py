"""The stand-ins for third parties (standins/): the stack runs the Stripe one only when
FEIRA_STANDINS lists it, on loopback with one gunicorn worker, never behind the gateway, sharing
the generated provider key and webhook secret with payments alone."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests

from services.kit.testing import free_port
from stack import gateway
from stack.__main__ import stack_ports
from stack.config import PROVIDER_SECRETS, ROOT, StackConfig, parse_env_file
from stack.processes import program_names, programs, render_supervisor, standin_programs

EXAMPLE = parse_env_file(ROOT / ".env.example")
TEST_ENV = {**EXAMPLE, **parse_env_file(ROOT / "stack" / "test.env")}


def config(tmp_path, base=EXAMPLE, **settings: str) -> StackConfig:
    return StackConfig({**base, "FEIRA_RUN_DIR": str(tmp_path), **settings})


def rendered_programs(cfg: StackConfig) -> str:
    return render_supervisor(cfg, cfg.db_passwords()).read_text()


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


def test_the_example_and_test_stacks_run_it_on_their_ports(tmp_path):
    assert EXAMPLE["FEIRA_STANDINS"] == "stripe"
    assert TEST_ENV["FEIRA_STANDINS"] == "stripe"
    [dev] = standin_programs(config(tmp_path / "dev"))
    [test] = standin_programs(config(tmp_path / "test", TEST_ENV))
    assert (dev.port, test.port) == (5090, 15090)


def test_the_standin_is_one_gunicorn_worker_on_loopback_started_before_the_services(tmp_path):
    cfg = config(tmp_path)
    [standin] = standin_programs(cfg)
    assert standin.command[-1] == "standins.stripe:create_app()"
    assert standin.environment["GUNICORN_WORKERS"] == "1"
    assert standin.environment["SERVICE_HOST"] == "127.0.0.1"
    assert standin.environment["PORT"] == "5090"
    services = [p for p in programs(cfg, cfg.db_passwords()) if p.name in cfg.services]
    assert all(standin.priority < service.priority for service in services)
    assert stack_ports(cfg)[5090] == "stripe-standin"


def test_the_gateway_never_routes_to_a_standin(tmp_path, monkeypatch):
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    monkeypatch.setattr(gateway, "worker_user", lambda cfg: "")
    for name, base in (("dev", EXAMPLE), ("test", TEST_ENV)):
        cfg = config(tmp_path / name, base)
        [standin] = standin_programs(cfg)
        text = gateway.render(cfg).read_text()
        assert f":{standin.port}" not in text, name
        assert "standin" not in text, name


def test_the_standin_and_payments_alone_hold_the_generated_provider_key_and_secret(tmp_path):
    cfg = config(tmp_path)
    [standin] = standin_programs(cfg)
    key = standin.environment["PAYMENTS_PROVIDER_SECRET_KEY"]
    secret = standin.environment["PAYMENTS_WEBHOOK_SECRET"]
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


def test_the_provider_url_is_the_standins_only_when_empty_and_the_standin_runs(tmp_path):
    running = config(tmp_path, base=TEST_ENV)
    assert running.payments_provider()["PAYMENTS_PROVIDER_URL"] == "http://127.0.0.1:15090"
    absent = config(tmp_path, FEIRA_STANDINS="")
    assert "PAYMENTS_PROVIDER_URL" not in absent.payments_provider()


def test_the_standin_posts_its_webhooks_to_the_gateways_public_payments_route(tmp_path):
    [standin] = standin_programs(config(tmp_path, TEST_ENV))
    assert standin.environment["STRIPE_STANDIN_WEBHOOK_URL"] == (
        "http://127.0.0.1:18080/payments/webhooks/stripe"
    )
    assert standin.environment["STRIPE_STANDIN_PIX_KEY"] == "pix@feira.local"
    [other] = standin_programs(
        config(tmp_path, TEST_ENV, STRIPE_STANDIN_WEBHOOK_URL="http://127.0.0.1:9/hook")
    )
    assert other.environment["STRIPE_STANDIN_WEBHOOK_URL"] == "http://127.0.0.1:9/hook"


def test_the_supervised_command_serves_the_standins_health_route(tmp_path):
    port = free_port()
    [standin] = standin_programs(config(tmp_path, STRIPE_STANDIN_PORT=str(port)))
    server = subprocess.Popen(
        standin.command,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **standin.environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/_standin/health", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the stand-in never answered")
                time.sleep(0.2)
        assert answer.status_code == 200
        key = standin.environment["PAYMENTS_PROVIDER_SECRET_KEY"]
        refused = requests.get(
            f"http://127.0.0.1:{port}/v1/payment_intents/pi_x",
            headers={"Authorization": "Bearer sk_test_wrong"},
            timeout=2,
        )
        assert refused.status_code == 401
        known = requests.get(
            f"http://127.0.0.1:{port}/v1/payment_intents/pi_x",
            headers={"Authorization": f"Bearer {key}"},
            timeout=2,
        )
        assert known.json()["error"]["code"] == "resource_missing"
    finally:
        server.terminate()
        server.wait(timeout=15)
