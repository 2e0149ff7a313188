"""The synthetic journey against the real auth and clients apps on a local port, signed in as a
plain `user`: timed steps on its one probe client, and the address it added deleted whatever
failed (or, failing that, by the janitor), so nothing accumulates."""

import re
import time
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import func, select

from monitoring.journey import NAME_PREFIX, PROBE_CPF, PROBE_EMAIL, STEPS, Journey, random_cpf
from monitoring.worker import Monitor
from services.auth import create_app as create_auth
from services.clients import create_app as create_clients
from services.kit.testing import LiveServer, build_app

# The monitor's own account: a `user`, who may not delete a client.
MONITOR = ("journey-monitor@example.com", "sonda-da-jornada-7")


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
    from services.auth.accounts import register

    with auth.app_context():
        register(*MONITOR, name="Monitoring")
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
    return Journey(server.base_url, *MONITOR, timeout=5.0, session=requests.Session())


def probe(services) -> tuple[int, int, str | None]:
    """How many probe clients there are, how many addresses they have, and the probe's name."""
    from services.clients.models import Address, Client, db

    *_, clients = services
    with clients.app_context():
        found = db.session.scalars(select(Client).where(Client.email == PROBE_EMAIL)).all()
        addresses = db.session.scalar(
            select(func.count())
            .select_from(Address)
            .where(Address.client_id.in_([c.id for c in found]))
        )
        name = found[0].name if found else None
        db.session.remove()
    return len(found), addresses, name


def test_a_journey_as_a_plain_user_changes_its_probe_client_and_adds_reads_and_deletes_an_address(
    services, gateway, journey
):
    result = journey.run()
    assert result.ok, result
    assert [step["name"] for step in result.steps] == list(STEPS)
    assert all(step["latency_ms"] > 0 for step in result.steps)
    assert result.latency_ms == pytest.approx(sum(s["latency_ms"] for s in result.steps), abs=0.1)
    clients, addresses, name = probe(services)
    assert (clients, addresses) == (1, 0)
    assert name.startswith(NAME_PREFIX)


def test_every_run_reuses_the_one_probe_client_and_leaves_nothing_behind(
    services, gateway, journey
):
    names = set()
    for _ in range(3):
        assert journey.run().ok
        clients, addresses, name = probe(services)
        assert (clients, addresses) == (1, 0)
        names.add(name)
    # Each run changed it, and read back its own change.
    assert len(names) == 3


def test_a_probe_client_whose_email_someone_changed_is_found_by_its_cpf_and_put_back(
    services, gateway, journey
):
    _, server, _ = services
    assert journey.run().ok
    # Any user may edit a client: here the monitor's own account, as a clerk would.
    credentials = {"email": MONITOR[0], "password": MONITOR[1]}
    login = requests.post(f"{server.base_url}/auth/login", json=credentials, timeout=5)
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    found = requests.get(
        f"{server.base_url}/clients", params={"cpf": PROBE_CPF}, headers=headers, timeout=5
    ).json()["items"]
    changed = requests.patch(
        f"{server.base_url}/clients/{found[0]['id']}",
        json={"email": "someone-else@example.com"},
        headers=headers,
        timeout=5,
    )
    assert changed.status_code == 200
    assert probe(services)[0] == 0

    result = journey.run()
    assert result.ok, result
    assert probe(services)[:2] == (1, 0)
    again = requests.get(
        f"{server.base_url}/clients/{found[0]['id']}", headers=headers, timeout=5
    ).json()
    assert (again["email"], again["cpf"]) == (PROBE_EMAIL, PROBE_CPF)


def test_a_failed_step_is_named_and_the_address_is_deleted_all_the_same(services, gateway, journey):
    gateway.fail("GET", r"/clients/\d+")
    result = journey.run()
    assert not result.ok
    assert result.step == "read_client"
    assert result.error == "status 503, wanted 200"
    assert [s["name"] for s in result.steps][-1] == "cleanup"
    assert result.steps[-1]["ok"]
    assert probe(services)[:2] == (1, 0)


def test_a_step_that_runs_out_of_time_is_cleaned_up_with_a_budget_of_its_own(services, gateway):
    _, server, _ = services
    Journey(server.base_url, *MONITOR, timeout=5.0, session=requests.Session()).run()
    gateway.fail("GET", r"/clients/\d+/addresses/\d+", delay=2.5)
    journey = Journey(server.base_url, *MONITOR, timeout=2.0, session=requests.Session())
    result = journey.run()
    assert (result.step, result.error) == ("read_address", "timed out")
    assert result.steps[-1] == {**result.steps[-1], "name": "cleanup", "ok": True}
    assert probe(services)[:2] == (1, 0)


def test_what_even_the_cleanup_could_not_delete_the_janitor_does(services, gateway, journey):
    gateway.fail("GET", r"/clients/\d+")
    gateway.fail("DELETE", r"/clients/\d+/addresses/\d+")
    result = journey.run()
    assert result.step == "read_client" and not result.steps[-1]["ok"]
    assert probe(services)[:2] == (1, 1)

    gateway.faults.clear()
    assert journey.sweep() == 1
    assert probe(services)[:2] == (1, 0)


def test_the_journey_never_needs_to_delete_a_client(services, gateway, journey):
    # A user may not: the gateway refusing every client deletion changes nothing.
    gateway.fail("DELETE", r"/clients/\d+", status=403)
    assert journey.run().ok
    assert journey.sweep() == 0


def test_a_janitor_that_meets_a_failing_service_leaves_the_check_to_the_journey(
    services, gateway, journey, caplog
):
    gateway.fail("GET", r"/clients")
    Monitor.sweep(journey, SimpleNamespace(timeout=5.0))
    assert "the journey's janitor could not run" in caplog.text
    assert "the check itself failed" not in caplog.text


def test_a_refused_login_fails_the_first_step_and_changes_nothing(services, gateway):
    _, server, _ = services
    before = probe(services)
    journey = Journey(server.base_url, MONITOR[0], "wrong-password", 5.0, requests.Session())
    result = journey.run()
    assert (result.step, result.error) == ("login", "status 401, wanted 200")
    assert [s["name"] for s in result.steps] == ["login"]
    assert probe(services) == before


def test_the_journey_makes_valid_cpfs():
    import random

    from services.clients.cpf import normalise

    rng = random.Random(7)
    for _ in range(200):
        cpf = random_cpf(rng)
        assert normalise(cpf) == cpf
