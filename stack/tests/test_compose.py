"""docker-compose.yml and the Dockerfile run what supervisord runs (checked without Docker)."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from services.kit.postgres import NOT_DURABLE
from stack import compose
from stack import gateway as nginx_gateway
from stack.config import ROOT, StackConfig, parse_env_file, present_services
from stack.processes import Program, programs

COMPOSE_FILE = ROOT / "docker-compose.yml"
ONE_SHOT_STEPS = {"keys", "migrate"}
# `$$` (a literal `$`), `${NAME}`, `${NAME:-default}`, `${NAME:?error}`, ... and `$NAME`.
INTERPOLATION = re.compile(
    r"\$(?:\$|\{(?P<braced>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<plain>[A-Za-z_]\w*))"
)
# `scheme://user:password@`, where the password may be an interpolation holding spaces.
CREDENTIALS_IN_URL = re.compile(r"://([^:/@\s]+):(\$\{[^}]*\}|[^@\s]*)@")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN(?!_(MINUTES|DAYS))|DSN|PRIVATE_KEY(?!_FILE)")
ENV_FILES = {"env.example": [], "test.env": ["stack/test.env"]}


def stack_env(*overrides: str) -> dict[str, str]:
    """.env.example with every empty setting given a dummy value, as a filled-in .env would be:
    the supervisor passes a service only the settings that have a value."""
    env = parse_env_file(ROOT / ".env.example")
    for path in overrides:
        env.update(parse_env_file(ROOT / path))
    return {key: value or f"dummy-{key.lower()}" for key, value in env.items()}


def interpolate(value, env: dict[str, str]):
    """What `docker compose config` does to every value of the file (the subset it uses)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name = match["braced"] or match["plain"]
        if name is None:
            return "$"
        op, arg, current = match["op"], match["arg"], env.get(name)
        if op in (":?", "?") and not (current if op == ":?" else name in env):
            raise LookupError(f"{name} is required: {arg}")
        if op == ":-":
            return current or arg
        if op == "-":
            return arg if current is None else current
        if op in (":+", "+"):
            return arg if (current if op == ":+" else current is not None) else ""
        return current or ""

    return INTERPOLATION.sub(substitute, value)


def variables_used(value) -> list[re.Match]:
    if isinstance(value, dict):
        return [m for item in value.values() for m in variables_used(item)]
    if isinstance(value, list):
        return [m for item in value for m in variables_used(item)]
    if isinstance(value, str):
        return [m for m in INTERPOLATION.finditer(value) if m["braced"] or m["plain"]]
    return []


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(params=list(ENV_FILES), scope="module")
def env(request, tmp_path_factory) -> dict[str, str]:
    # The stack writes generated secrets into its run directory: never the real one here.
    run_dir = tmp_path_factory.mktemp("run")
    # compose runs no stand-in: the supervisor's like it runs none, else a listed stand-in's
    # address would replace the provider's, Meta's and the SMTP server's settings.
    return {
        **stack_env(*ENV_FILES[request.param]),
        "FEIRA_RUN_DIR": str(run_dir),
        "FEIRA_STANDINS": "",
    }


@pytest.fixture(scope="module")
def services(raw_compose, env) -> dict[str, dict]:
    return interpolate(raw_compose, env)["services"]


@pytest.fixture(scope="module")
def supervised(env) -> dict[str, Program]:
    """Every program supervisord runs for this environment, by name."""
    cfg = StackConfig(env)
    return {program.name: program for program in programs(cfg, cfg.db_passwords())}


@pytest.fixture(scope="module")
def feira(supervised) -> dict[str, Program]:
    """The Feira processes: the services and their outbox relays (not postgres, not nginx)."""
    return {name: p for name, p in supervised.items() if name not in {"postgres", "gateway"}}


@pytest.fixture(scope="module")
def http_services(feira) -> dict[str, Program]:
    return {name: program for name, program in feira.items() if program.port}


def argv(command: list[str]) -> list[str]:
    return [Path(command[0]).name, *command[1:]]


def test_compose_runs_every_supervised_program_and_only_the_one_shot_steps_besides(
    services, supervised
):
    assert set(services) - ONE_SHOT_STEPS == set(supervised)
    for step in ONE_SHOT_STEPS:
        assert services[step]["restart"] == "no"


def test_compose_runs_exactly_the_services_present_in_the_repository(services):
    started_by_gunicorn = {
        name for name, service in services.items() if service.get("command", [""])[0] == "gunicorn"
    }
    assert started_by_gunicorn == {*present_services(), "monitoring"}


def test_every_supervised_service_runs_in_compose_with_the_same_command(services, feira):
    for name, program in feira.items():
        assert services[name]["command"] == argv(program.command), name


def test_every_process_gets_as_long_to_stop_as_under_the_supervisor(services, feira):
    # A literal: compose cannot compute a wait from the settings, so it holds what the stack
    # derives from the defaults (a worker still in a call is not cut off).
    for name, program in feira.items():
        assert services[name].get("stop_grace_period") == f"{program.stopwaitsecs}s", name


def test_every_service_listens_on_its_supervisor_port(services, http_services):
    for name, program in http_services.items():
        environment = services[name]["environment"]
        assert int(environment["PORT"]) == program.port, name
        assert [int(exposed) for exposed in services[name]["expose"]] == [program.port], name
        assert environment["SERVICE_HOST"] == "0.0.0.0", name  # noqa: S104


def test_every_process_gets_the_variables_it_gets_under_the_supervisor_and_no_other(
    services, feira
):
    for name, program in feira.items():
        in_compose, supervised_names = set(services[name]["environment"]), set(program.environment)
        missing, extra = supervised_names - in_compose, in_compose - supervised_names
        assert not missing, f"{name} lacks {sorted(missing)} in docker-compose.yml"
        assert not extra, f"{name} gets {sorted(extra)} in docker-compose.yml only"


def test_service_addresses_are_the_supervisor_ones_with_compose_host_names(env, services, feira):
    cfg = StackConfig(env)
    in_compose = {cfg.service_url(s): f"http://{s}:{cfg.port(s)}" for s in cfg.apps}
    in_compose[cfg.gateway_url] = "http://gateway:8080"
    for name, program in feira.items():
        for key, value in program.environment.items():
            if key == "OUTBOX_SUBSCRIBERS" or (key.endswith("_URL") and key != "DATABASE_URL"):
                for loopback, address in in_compose.items():
                    value = value.replace(loopback, address)
                assert services[name]["environment"][key] == value, f"{name}: {key}"


def test_every_service_uses_its_own_role_and_password_on_the_compose_database(env, services, feira):
    for name, program in feira.items():
        service = re.sub(r"-[a-z]+$", "", name)  # a relay or a worker: its service's role
        supervised_url = program.environment["DATABASE_URL"]
        password = env[f"{service.upper()}_DB_PASSWORD"]
        database = supervised_url.rsplit("/", 1)[1]
        expected = f"postgresql+psycopg://{service}:{password}@postgres:5432/{database}"
        assert services[name]["environment"]["DATABASE_URL"] == expected, name


def test_the_gateway_waits_for_every_service_and_knows_its_port(services, http_services):
    gateway = services["gateway"]
    for name, program in http_services.items():
        assert int(gateway["environment"][f"{name.upper()}_PORT"]) == program.port, name
        assert gateway["depends_on"][name]["condition"] == "service_healthy", name


def test_the_gateway_is_published_on_loopback_at_the_supervisor_gateway_port(services, supervised):
    gateway = services["gateway"]
    [published] = gateway["ports"]
    host_ip, host_port, container_port = str(published).split(":")
    assert host_ip == "127.0.0.1"
    assert int(host_port) == supervised["gateway"].port
    assert container_port == gateway["environment"]["FEIRA_GATEWAY_PORT"]
    for name, service in services.items():
        if name != "gateway":
            assert "ports" not in service, f"{name} is reachable through the gateway only"


def test_only_auth_holds_the_signing_key(services, feira):
    def holds_it(service: dict) -> bool:
        mounts = " ".join(service.get("volumes", []))
        return "JWT_PRIVATE_KEY_FILE" in service["environment"] or "jwt-signing-key" in mounts

    assert {name for name, p in feira.items() if "JWT_PRIVATE_KEY_FILE" in p.environment} == {
        "auth"
    }
    assert {name for name in feira if holds_it(services[name])} == {"auth"}


def test_every_container_that_listens_has_a_healthcheck(services, supervised, http_services):
    for name, program in supervised.items():
        if program.port:
            assert services[name].get("healthcheck", {}).get("test"), f"{name}: no healthcheck"
    for name in http_services:
        assert "/health/ready" in " ".join(services[name]["healthcheck"]["test"]), name


def test_every_process_starts_after_migrate_which_waits_for_the_database_and_the_keys(
    services, feira
):
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "stack.compose", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["depends_on"]["keys"]["condition"] == "service_completed_successfully"
    for name in feira:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_migrate_has_what_every_service_app_needs_to_be_built(services):
    environment = services["migrate"]["environment"]
    # Building an app (flask db upgrade) fails without the keys and the outbox secret.
    assert {"JWT_PUBLIC_KEY_FILE", "JWT_PRIVATE_KEY_FILE", "OUTBOX_SECRET"} <= set(environment)
    for service in present_services():
        assert f"{service.upper()}_DB_PASSWORD" in environment, service


def test_postgres_runs_with_the_settings_of_the_supervised_cluster(services, supervised):
    def settings(command: list[str]) -> set[str]:
        return {setting for flag, setting in pairwise(command) if flag == "-c"}

    # Compose's server listens on its network, the supervised one on loopback; compose's data is
    # kept, so it waits for the disk whatever a test stack's settings say (NOT_DURABLE).
    wanted = {
        setting
        for setting in settings(supervised["postgres"].command)
        if not setting.startswith("listen_addresses=") and setting not in NOT_DURABLE
    }
    assert services["postgres"]["command"][0] == "postgres"
    assert wanted | {"fsync=on"} <= settings(services["postgres"]["command"])
    assert services["postgres"]["image"].startswith("postgres:15")


def test_the_gateway_container_runs_nginx_as_the_supervisor_does(env, supervised):
    cfg = StackConfig(env)
    assert compose.nginx_command(cfg.run_dir / "nginx") == argv(supervised["gateway"].command)


def test_the_gateway_rendered_for_compose_listens_in_its_container_and_proxies_to_the_services(
    services, http_services, tmp_path, monkeypatch
):
    isolate_render(monkeypatch, tmp_path)
    environment = services["gateway"]["environment"]
    conf = compose.render_gateway(StackConfig({**environment, "FEIRA_RUN_DIR": str(tmp_path)}))

    text = conf.read_text()
    assert f"listen 0.0.0.0:{environment['FEIRA_GATEWAY_PORT']};" in text
    for name, program in http_services.items():
        assert f"server {name}:{program.port} " in text


def test_the_gateway_rendered_for_make_up_still_listens_and_proxies_on_loopback(
    env, supervised, http_services, tmp_path, monkeypatch
):
    isolate_render(monkeypatch, tmp_path)
    text = nginx_gateway.render(StackConfig({**env, "FEIRA_RUN_DIR": str(tmp_path)})).read_text()

    assert f"listen 127.0.0.1:{supervised['gateway'].port};" in text
    for program in http_services.values():
        assert f"server 127.0.0.1:{program.port} " in text


def isolate_render(monkeypatch, tmp_path: Path) -> None:
    """Keep the verify cache out of /dev/shm and need no nginx installed: only the text counts."""
    monkeypatch.setattr(nginx_gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(nginx_gateway, "_mime_types", lambda: "/etc/nginx/mime.types")


def test_every_variable_compose_interpolates_is_listed_in_env_example(raw_compose):
    listed = set(parse_env_file(ROOT / ".env.example"))
    used = {match["braced"] or match["plain"] for match in variables_used(raw_compose)}
    assert used - listed == set()


def test_compose_defaults_are_the_env_example_values(raw_compose):
    example = parse_env_file(ROOT / ".env.example")
    for match in variables_used(raw_compose):
        if match["op"] == ":-":
            assert match["arg"] == example[match["braced"]], match[0]


def test_no_secret_is_written_in_the_compose_file(raw_compose):
    text = COMPOSE_FILE.read_text()
    example = parse_env_file(ROOT / ".env.example")
    for name, value in example.items():
        if SECRET_NAME.search(name) and value:
            assert value not in text, f"{name}'s development value is in docker-compose.yml"

    for service_name, service in raw_compose["services"].items():
        for name, value in (service.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(name):
                match = INTERPOLATION.fullmatch(value)
                assert match, f"{service_name}: {name} must be only ${{VARIABLE:?...}}"
                assert match["op"] == ":?" or (match["op"] == ":-" and not match["arg"]), name
            for user, password in CREDENTIALS_IN_URL.findall(value):
                variable = f"{user.upper()}_DB_PASSWORD"
                own = rf"\$\{{{variable}:\?[^}}]*\}}"
                assert re.fullmatch(own, password), f"{service_name}: {name} must use {variable}"


def test_the_image_runs_as_a_non_root_user_and_installs_no_dev_extras():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users, "the Dockerfile sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    installs = [line for line in lines if "pip install" in line]
    assert installs and all("[dev]" not in line for line in installs)


def test_no_local_state_or_secret_goes_into_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".env.*", ".run", ".venv", ".git"} <= ignored
