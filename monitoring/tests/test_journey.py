"""The synthetic journey against the real auth and clients apps on a local port: timed steps, and
the client it created deleted whatever failed (or, failing that, by the janitor)."""

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import func, select

from monitoring.journey import NAME_PREFIX, STEPS, Journey, random_cpf
from monitoring.worker import Monitor
from services.auth import create_app as create_auth
from services.clients import create_app as create_clients
from services.kit.testing import LiveServer, build_app

ADMIN = ("journey-admin@example.com", "journey-admin-password")


class Gateway:
    """Routes /auth/* to auth and /clients/* to clients as nginx does, and fails or stalls the
    requests it is told to: the services themselves are the real ones."""

    def __init__(self, auth, clients):
        self.apps = {"auth": auth, "clients": clients}
        self.faults: list[tuple[str, str, int, float]] = []

    def fail(self, method: str, pattern: str, status: int = 503, delay: float = 0.0) -> None:
        self.faults.append((method, pattern, status, delay))

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        for fault_method, pattern, status, delay in self.faults:
            if method == fault_method and re.fullmatch(pattern, path):
                time.sleep(delay)
                start_response(f"{status} Injected", [("Content-Type", "application/json")])
                return [b'{"title": "injected fault"}']
        return self.apps[path.split("/")[1]](environ, start_response)


@pytest.fixture(scope="module")
def services(database, jwt_keys):
    auth = build_app(create_auth, "auth", database, jwt_keys)
    clients = build_app(create_clients, "clients", database, jwt_keys)
    from services.auth.accounts import ensure_admin

    with auth.app_context():
        ensure_admin(*ADMIN)
    gateway = Gateway(auth, clients)
    server = LiveServer(gateway).start()
    yield gateway, server, clients
    server.stop()


@pytest.fixture
def gateway(services):
    gateway, _, _ = services
    gateway.faults.clear()
    yield gateway
    gateway.faults.clear()


@pytest.fixture
def journey(services):
    _, server, _ = services
    return Journey(server.base_url, *ADMIN, timeout=5.0, session=requests.Session())


def journey_clients(services) -> int:
    from services.clients.models import Client, db

    *_, clients = services
    with clients.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Client).where(Client.name.startswith(NAME_PREFIX))
        )
        db.session.remove()
    return count


def test_a_journey_logs_in_creates_reads_and_deletes_a_client_timing_each_step(
    services, gateway, journey
):
    result = journey.run()
    assert result.ok, result
    assert [step["name"] for step in result.steps] == list(STEPS)
    assert all(step["latency_ms"] > 0 for step in result.steps)
    assert result.latency_ms == pytest.approx(sum(s["latency_ms"] for s in result.steps), abs=0.1)
    assert journey_clients(services) == 0


def test_a_failed_step_is_named_and_the_client_is_deleted_all_the_same(services, gateway, journey):
    gateway.fail("GET", r"/clients/\d+")
    result = journey.run()
    assert not result.ok
    assert result.step == "read_client"
    assert result.error == "status 503, wanted 200"
    assert [s["name"] for s in result.steps][-1] == "cleanup"
    assert result.steps[-1]["ok"]
    assert journey_clients(services) == 0


def test_a_step_that_runs_out_of_time_is_cleaned_up_with_a_budget_of_its_own(services, gateway):
    _, server, _ = services
    gateway.fail("POST", r"/clients/\d+/addresses", delay=1.5)
    journey = Journey(server.base_url, *ADMIN, timeout=1.0, session=requests.Session())
    result = journey.run()
    assert (result.step, result.error) == ("add_address", "timed out")
    assert result.steps[-1] == {**result.steps[-1], "name": "cleanup", "ok": True}
    assert journey_clients(services) == 0


def test_what_even_the_cleanup_could_not_delete_the_janitor_does(services, gateway, journey):
    gateway.fail("GET", r"/clients/\d+")
    gateway.fail("DELETE", r"/clients/\d+")
    result = journey.run()
    assert result.step == "read_client" and not result.steps[-1]["ok"]
    assert journey_clients(services) == 1

    gateway.faults.clear()
    assert journey.sweep(older_than=timedelta(0)) == 1
    assert journey_clients(services) == 0


def test_the_janitor_leaves_a_client_younger_than_it_is_told(services, gateway, journey):
    gateway.fail("DELETE", r"/clients/\d+")
    journey.run()
    gateway.faults.clear()
    assert journey.sweep(older_than=timedelta(minutes=5)) == 0
    assert journey.sweep(older_than=timedelta(0)) == 1


def test_a_janitor_that_meets_a_failing_service_leaves_the_check_to_the_journey(
    services, gateway, journey, caplog
):
    gateway.fail("GET", r"/clients")
    Monitor.sweep(journey, SimpleNamespace(timeout=5.0))
    assert "the journey's janitor could not run" in caplog.text
    assert "the check itself failed" not in caplog.text


def test_a_refused_login_fails_the_first_step_and_creates_nothing(services, gateway):
    _, server, _ = services
    journey = Journey(server.base_url, ADMIN[0], "wrong-password", 5.0, requests.Session())
    result = journey.run()
    assert (result.step, result.error) == ("login", "status 401, wanted 200")
    assert [s["name"] for s in result.steps] == ["login"]
    assert journey_clients(services) == 0


def test_the_journey_makes_valid_cpfs():
    import random

    from services.clients.cpf import normalise

    rng = random.Random(7)
    for _ in range(200):
        cpf = random_cpf(rng)
        assert normalise(cpf) == cpf
