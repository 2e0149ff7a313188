"""targets.yaml is validated at start-up, and every mistake is named with where it is."""

import pytest

from monitoring.config import DEFAULT_FILE, ConfigError, load, parse, sign_in_variables

ENV = {
    "AUTH_URL": "http://127.0.0.1:5001",
    "CLIENTS_URL": "http://127.0.0.1:5002",
    "GATEWAY_URL": "http://127.0.0.1:8080",
    "DATABASE_URL": "postgresql+psycopg://monitoring:pw@127.0.0.1:5433/feira",
    "FEIRA_ADMIN_EMAIL": "admin@feira.local",
    "FEIRA_ADMIN_PASSWORD": "feira-admin-dev",
}


def http(name="web", **settings):
    return {"name": name, "kind": "http", "url": "http://127.0.0.1:1/health", **settings}


def problems(raw, env=ENV) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, env)
    return caught.value.problems


def test_the_shipped_file_checks_every_present_service_the_gateway_postgres_and_the_journey():
    config = load(DEFAULT_FILE, ENV)
    assert config.names == ("auth", "clients", "clients-relay", "gateway", "postgres", "journey")
    assert {t.kind for t in config.targets} == {"pair", "http", "postgres", "synthetic"}
    clients = config.target("clients")
    assert clients.direct.url == "http://127.0.0.1:5002/health/ready"
    assert clients.via_gateway.url == "http://127.0.0.1:8080/health/clients"
    # Its relay's deliveries too: red while a subscriber's events wait too long.
    assert config.target("clients-relay").probe.url == "http://127.0.0.1:5002/health/outbox"


def test_a_service_appears_as_a_target_when_the_stack_runs_it():
    config = load(DEFAULT_FILE, {**ENV, "PRODUCTS_URL": "http://127.0.0.1:5003"})
    assert "products" in config.names


def test_defaults_are_a_15s_interval_and_a_shorter_timeout():
    target = parse({"targets": [http()]}, ENV).targets[0]
    assert target.interval == 15
    assert 0 < target.timeout < target.interval
    assert (target.down_after, target.up_after) == (2, 2)


def test_a_target_setting_wins_over_the_defaults_which_win_over_the_built_in_ones():
    raw = {
        "defaults": {"interval": "30s", "latency_threshold": "200ms", "up_after": 3},
        "targets": [http("a"), http("b", interval="1m", up_after=1)],
    }
    a, b = parse(raw, ENV).targets
    assert (a.interval, a.latency_threshold_ms, a.up_after, a.down_after) == (30, 200, 3, 2)
    assert (b.interval, b.latency_threshold_ms, b.up_after) == (60, 200, 1)


def test_an_unknown_setting_is_named_with_the_settings_there_are():
    found = problems({"defaults": {"intervall": "5s"}, "targets": [http()]})
    assert found == [
        "defaults: unknown setting 'intervall' "
        "(known: down_after, interval, latency_threshold, retry_interval, timeout, up_after)"
    ]


def test_a_timeout_as_long_as_the_interval_is_refused():
    found = problems({"targets": [http(interval="10s", timeout="10s")]})
    assert found == ["targets[0] (web): the timeout (10s) must be shorter than the interval (10s)"]


def test_the_interval_override_shortens_every_interval_and_timeout():
    env = {**ENV, "MONITOR_INTERVAL": "2s"}
    targets = load(DEFAULT_FILE, env).targets
    assert {t.interval for t in targets} == {2}
    assert all(t.timeout < 2 for t in targets)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"targets": [http(interval="soon")]},
            "targets[0] (web): interval 'soon' is not a duration",
        ),
        ({"targets": [http(kind="ftp")]}, "targets[0] (web): `kind` must be one of"),
        ({"targets": [http(retries=3)]}, "targets[0] (web): unknown setting 'retries'"),
        ({"targets": [http(down_after=0)]}, "`down_after` must be a whole number from 1 to 100"),
        ({"targets": [http(), http()]}, "targets[1] (web): the name 'web' is used twice"),
        ({"targets": [http(depends_on=["db"])]}, "web.depends_on: no target named 'db'"),
        ({"targets": [http(url="${NOPE_URL}/x")]}, "targets[0] (web).url: ${NOPE_URL} is not set"),
        ({"targets": [http(url="ftp://x")]}, "targets[0] (web).url: must be an http(s) URL"),
        (
            {"targets": [http(json=[{"path": "status", "similar": "ok"}])]},
            "targets[0] (web).json[0]: give exactly one operator",
        ),
        ({"targets": [{"name": "p", "kind": "postgres"}]}, "targets[0] (p): `dsn` is required"),
        (
            {"targets": [{"name": "p", "kind": "pair", "direct": {"url": "http://a"}}]},
            "needs `via_gateway`",
        ),
        ({"targets": []}, "targets: must be a non-empty list"),
        (
            {"targets": [http()], "maintenance": [{"start": "2026-01-01T03:00:00"}]},
            "maintenance[0]: `start` must be an ISO 8601 time with its offset",
        ),
        (
            {
                "targets": [http()],
                "maintenance": [{"weekly": {"day": "someday", "at": "03:00", "duration": "1h"}}],
            },
            "maintenance[0].weekly: `day` must be a weekday name",
        ),
    ],
)
def test_each_mistake_is_named_with_where_it_is(raw, expected):
    found = problems(raw)
    assert any(expected in problem for problem in found), found


def test_every_mistake_is_reported_at_once():
    found = problems(
        {"targets": [http(interval="x"), http("b", kind="nope"), http("c", up_after=-1)]}
    )
    assert len(found) == 3


def test_dependencies_that_go_round_in_a_circle_are_refused():
    found = problems({"targets": [http("a", depends_on=["b"]), http("b", depends_on=["a"])]})
    assert any("go round in a circle" in p for p in found)


JOURNEY = {"targets": [{"name": "j", "kind": "synthetic", "gateway": "http://g"}]}


def test_the_journey_needs_an_account_to_sign_in():
    env = {k: v for k, v in ENV.items() if k != "FEIRA_ADMIN_PASSWORD"}
    found = problems(JOURNEY, env)
    assert found == [
        "targets[0] (j): the journey needs an account to sign in: set FEIRA_ADMIN_PASSWORD"
    ]


def test_the_journey_signs_in_with_the_monitor_account_once_it_is_set():
    assert sign_in_variables(ENV) == ("FEIRA_ADMIN_EMAIL", "FEIRA_ADMIN_PASSWORD")
    env = {**ENV, "FEIRA_MONITOR_EMAIL": "monitor@feira.local"}
    assert sign_in_variables(env) == ("FEIRA_MONITOR_EMAIL", "FEIRA_MONITOR_PASSWORD")
    found = problems(JOURNEY, env)
    assert found == [
        "targets[0] (j): the journey needs an account to sign in: set FEIRA_MONITOR_PASSWORD"
    ]


def test_the_journey_depends_on_orders_which_its_address_deletion_asks():
    config = load(DEFAULT_FILE, {**ENV, "ORDERS_URL": "http://127.0.0.1:5005"})
    journey = config.target("journey")
    assert journey.depends_on == ("gateway", "auth", "clients", "orders", "postgres")


def test_a_dependency_on_a_service_that_is_not_running_is_dropped():
    config = load(DEFAULT_FILE, {k: v for k, v in ENV.items() if k != "CLIENTS_URL"})
    assert "clients" not in config.names
    assert config.target("journey").depends_on == ("gateway", "auth", "postgres")


def test_an_unreadable_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load(tmp_path / "missing.yaml", ENV)
    broken = tmp_path / "broken.yaml"
    broken.write_text("targets: [\n")
    with pytest.raises(ConfigError, match="is not YAML"):
        load(broken, ENV)
