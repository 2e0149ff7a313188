"""Every app's /metrics passes `promtool check metrics`: base units, counters ending in _total,
help text on each family (Debian's `prometheus` package provides promtool)."""

import importlib
import shutil
import subprocess

import pytest

from services.kit.testing import build_app
from services.registry import SERVICES

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")


def exposition(app) -> str:
    web = app.test_client()
    # A request or two, so that the request metrics have samples, not just their families.
    web.get("/health/live")
    web.get("/no-such-path")
    response = web.get("/metrics")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def promtool(text: str) -> str:
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    return (checked.stdout + checked.stderr).strip()


@pytest.mark.parametrize("service", [s for s in SERVICES if s.name != "monitoring"], ids=str)
def test_a_service_metrics_pass_promtool(database, jwt_keys, service):
    package = importlib.import_module(service.package or f"services.{service.name}")
    app = build_app(package.create_app, service.name, database, jwt_keys)
    assert promtool(exposition(app)) == ""


def test_the_dashboard_metrics_with_its_status_gauges_pass_promtool(app, session):
    from monitoring.checks import CheckResult
    from monitoring.config import parse
    from monitoring.notify import Notifier
    from monitoring.worker import Monitor

    targets = {"targets": [{"name": "web", "kind": "http", "url": "http://127.0.0.1:1/"}]}
    monitor = Monitor(app, parse(targets, {}), Notifier(None))
    monitor.restore()
    monitor.observe("web", CheckResult(True, 12.0))
    monitor.beat()
    text = exposition(app)
    assert 'feira_monitor_last_latency_seconds{target="web"} 0.012' in text
    assert promtool(text) == ""
