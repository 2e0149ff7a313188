"""Every artefact derived from services/registry.py agrees with it: a service added, renamed or
changed there shows up in each, or one of these tests names the one that lags behind."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from fuzz.runner import DOCUMENTS
from services.kit import postgres as kit_postgres
from services.kit.settings import SERVICE_NAMES, base_config
from services.kit.tests import test_migrations
from services.registry import BY_NAME, NAMES, SERVICES, internal_callers, subscribers
from stack import gateway as nginx_gateway
from stack import postgres as stack_postgres
from stack.config import ROOT, StackConfig, parse_env_file, present_services
from stack.processes import program_names, programs, render_supervisor, standin_programs

EXAMPLE = parse_env_file(ROOT / ".env.example")
# Who may call an internal route besides the services: nginx's auth_request.
NON_SERVICE_CALLERS = {"gateway"}


@pytest.fixture(scope="module")
def cfg(tmp_path_factory) -> StackConfig:
    """.env.example with every empty setting filled in, as a .env would be, in a scratch run dir
    (the stack writes generated secrets there)."""
    env = {key: value or f"dummy-{key.lower()}" for key, value in EXAMPLE.items()}
    return StackConfig({**env, "FEIRA_RUN_DIR": str(tmp_path_factory.mktemp("run"))})


@pytest.fixture(scope="module")
def supervised(cfg) -> dict:
    return {program.name: program for program in programs(cfg, cfg.db_passwords())}


@pytest.fixture(scope="module")
def nginx(cfg) -> tuple[str, str]:
    """The rendered nginx.conf and /docs page; only the text counts (no nginx, no /dev/shm)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nginx_gateway, "verify_cache_dir", lambda cfg: cfg.run_dir / "verify")
        patch.setattr(nginx_gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
        patch.setattr(nginx_gateway, "worker_user", lambda cfg: "")
        conf = nginx_gateway.render(cfg)
    return conf.read_text(), (conf.parent / "docs" / "index.html").read_text()


def location(text: str, head: str) -> str:
    start = text.index(f"location {head} {{")
    return text[start : text.index("\n        }", start)]


def expected_programs() -> set[str]:
    names = {"postgres", "gateway"}
    for service in SERVICES:
        names.add(service.name)
        if service.has_relay:
            names.add(f"{service.name}-relay")
        names.update(f"{service.name}-{worker.name}" for worker in service.workers)
    return names


# --- the registry itself ---


def test_names_ports_and_routes_are_each_claimed_by_one_service():
    assert len(set(NAMES)) == len(NAMES)
    assert len({s.port for s in SERVICES}) == len(SERVICES)
    prefixes = [p for s in SERVICES for p in (*s.prefixes, *s.public)]
    assert len(set(prefixes)) == len(prefixes)


def test_every_call_caller_and_heard_event_names_something_the_registry_declares():
    emitted = {event for s in SERVICES for event in s.emits}
    for service in SERVICES:
        assert set(service.calls) <= set(NAMES), service.name
        assert set(service.hears) <= emitted, f"{service.name} hears what nobody emits"
        for route in service.internal:
            assert set(route.callers) <= set(NAMES) | NON_SERVICE_CALLERS, route.prefix
            assert route.prefix.split("/")[1] in service.prefixes, route.prefix


def calls_in(service, method: str) -> list[ast.Call]:
    """Every call `…method(…)` (or `method(…)`) in the service's own code, tests left out."""
    package = ROOT.joinpath(*service.module.split("."))
    return [
        node
        for path in sources(service.module.split(".")[0])
        if path.is_relative_to(package)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and method in (getattr(node.func, "id", None), getattr(node.func, "attr", None))
    ]


def first_constant(call: ast.Call) -> str | None:
    argument = call.args[0] if call.args else None
    return argument.value if isinstance(argument, ast.Constant) else None


def test_the_services_each_one_calls_are_the_ones_the_registry_declares():
    for service in SERVICES:
        # `service(name)` with a variable only reads the answer of a call that names it.
        called = {first_constant(call) for call in calls_in(service, "service")} - {None}
        assert called == set(service.calls), service.name


def test_the_events_each_service_emits_and_hears_are_the_ones_the_registry_declares():
    for service in SERVICES:
        emitted = {first_constant(call) for call in calls_in(service, "emit")}
        assert emitted == set(service.emits), service.name
        heard = {
            key.value
            for call in calls_in(service, "receiver")
            if len(call.args) == 2 and isinstance(call.args[1], ast.Dict)
            for key in call.args[1].keys
        }
        assert heard == set(service.hears), service.name


def verify_callers() -> tuple[str, ...]:
    return internal_callers("auth")["/auth/verify"]


def test_every_service_that_checks_sessions_may_ask_auths_verifier_and_no_other():
    """A service whose routes take a bearer token (`login_required`) asks auth's verifier when
    no fresh assertion came with the request (kit.security.SessionCheck); left out of the
    verifier's callers, it answers 503. auth answers itself."""
    for service in SERVICES:
        checks = bool(calls_in(service, "login_required") or calls_in(service, "require_caller"))
        if service.name != "auth":
            allowed = service.name in verify_callers()
            assert checks == allowed, (
                f"{service.name} {'checks' if checks else 'checks no'} sessions but auth's "
                f"/auth/verify {'does not list' if checks else 'lists'} it"
            )
        # The registry names the verifier's callers from `prefixes`: behind auth_request.
        assert checks == bool(service.prefixes), f"{service.name}: prefixes and sessions differ"


def test_every_caller_of_an_internal_route_has_its_service_key_in_env_example_and_compose(
    cfg, compose
):
    assert set(cfg.service_key_names()) <= set(EXAMPLE), (
        f".env.example lacks {sorted(set(cfg.service_key_names()) - set(EXAMPLE))}"
    )
    for service in SERVICES:
        for prefix, callers in internal_callers(service.name).items():
            for caller in callers:
                key = f"{caller.upper()}_SERVICE_KEY"
                for block in (caller, service.name):
                    assert key in compose[block]["environment"], (
                        f"{caller} calls {prefix}: docker-compose.yml's {block} lacks {key}"
                    )


def test_every_service_has_a_package_in_the_repository_so_the_stack_runs_them_all():
    assert present_services() == list(NAMES)


# --- the kit, the roles and the migrations ---


def test_the_kit_knows_every_service_url_the_stack_sets(monkeypatch):
    assert tuple(SERVICE_NAMES) == NAMES
    for service in SERVICES:
        monkeypatch.setenv(f"{service.env_prefix}_URL", f"http://127.0.0.1:{service.port}")
    assert set(base_config("clients")["SERVICE_URLS"]) == set(NAMES)


def test_make_up_and_the_test_database_provision_a_role_per_service(cfg):
    assert tuple(stack_postgres.SERVICES) == NAMES
    assert tuple(kit_postgres.SERVICES) == NAMES
    assert set(cfg.db_passwords()) == set(NAMES)


def test_the_migration_test_runs_for_every_service():
    test = test_migrations.test_autogenerate_on_a_migrated_service_finds_nothing_to_add
    [mark] = [m for m in test.pytestmark if m.name == "parametrize"]
    assert tuple(mark.args[1]) == NAMES


# --- supervisord ---


def test_supervisord_runs_each_service_its_relay_and_its_workers_and_nothing_else(cfg, supervised):
    assert set(supervised) == expected_programs()
    # Besides: the stand-ins FEIRA_STANDINS lists (test infrastructure; test_standins.py).
    standins = {program.name for program in standin_programs(cfg)}
    assert set(program_names(cfg)) == expected_programs() | standins
    text = render_supervisor(cfg, cfg.db_passwords()).read_text()
    rendered = set(re.findall(r"^\[program:([\w-]+)\]$", text, re.M))
    assert rendered == expected_programs() | standins


def test_every_process_runs_the_app_of_the_package_the_registry_names(supervised):
    for service in SERVICES:
        assert supervised[service.name].command[-1] == f"{service.module}:create_app()"
        assert supervised[service.name].port == service.port
        for worker in service.workers:
            command = supervised[f"{service.name}-{worker.name}"].command
            assert command[-1 - len(worker.command) :] == [
                f"{service.module}:create_app",
                *worker.command,
            ]


def test_each_relay_delivers_to_the_services_that_hear_what_it_emits(supervised):
    for service in SERVICES:
        if not service.has_relay:
            continue
        delivered = supervised[f"{service.name}-relay"].environment["OUTBOX_SUBSCRIBERS"]
        names = [entry.split("=", 1)[0] for entry in delivered.split(",") if entry]
        assert names == list(subscribers(service.name)), service.name
        for name in names:
            assert set(service.emits) & set(BY_NAME[name].hears)


def test_only_a_service_that_emits_or_hears_events_holds_the_outbox_secret(supervised):
    for name, program in supervised.items():
        service = BY_NAME.get(re.sub(r"-[a-z]+$", "", name)) or BY_NAME.get(name)
        if service is None:
            continue
        assert ("OUTBOX_SECRET" in program.environment) == service.has_outbox, name


def test_a_workers_own_settings_reach_that_worker_alone(supervised):
    for service in SERVICES:
        for worker in service.workers:
            for name, program in supervised.items():
                own = {key for key in program.environment if key.startswith(worker.settings)}
                own.discard("MONITOR_SNAPSHOT_FILE")  # the dashboard reads the worker's snapshot
                if name.startswith(service.name):
                    own -= set(worker.shared)  # its service's processes read these too
                if name == f"{service.name}-{worker.name}":
                    assert own, name
                else:
                    assert not own, f"{name} gets {sorted(own)}"


# --- the gateway ---


def test_every_service_has_an_upstream_on_its_port_and_a_health_route(nginx):
    conf, _ = nginx
    for service in SERVICES:
        upstream = conf[conf.index(f"upstream {service.name} {{") :]
        assert f"server 127.0.0.1:{service.port} " in upstream.split("}")[0], service.name
    [health] = re.findall(r"location ~ \^/health/\(([^)]*)\)\$", conf)
    assert health.split("|") == list(NAMES)


def test_every_prefix_reaches_its_service_behind_auth_request(nginx):
    conf, _ = nginx
    for service in SERVICES:
        if service.prefixes:
            route = location(conf, f"~ ^/({'|'.join(service.prefixes)})(/|$)")
            assert f"proxy_pass http://{service.name};" in route
            assert "auth_request /_auth/verify;" in route


def test_public_prefixes_reach_their_service_without_a_token(nginx):
    conf, _ = nginx
    for service in SERVICES:
        for prefix in service.public:
            # A sub-path of a prefix ("payments/webhooks") is public only under it.
            heads = [f"^~ /{prefix}/"] if "/" in prefix else [f"= /{prefix}", f"^~ /{prefix}/"]
            for head in heads:
                route = location(conf, head)
                assert f"proxy_pass http://{service.name};" in route
                assert "auth_request" not in route


def test_a_public_sub_path_is_sent_on_without_a_token_while_the_rest_of_its_prefix_asks_auth(
    nginx,
):
    conf, _ = nginx
    public = [(s, p) for s in SERVICES for p in s.public if p.split("/")[0] in s.prefixes]
    assert ("payments", "payments/webhooks") in [(s.name, p) for s, p in public]
    for service, path in public:
        route = location(conf, f"^~ /{path}/")
        assert f"proxy_pass http://{service.name};" in route
        assert "auth_request" not in route
        # `^~`: nginx takes this prefix before any regex, so the prefix's auth_request route
        # (a regex) never sees what is under it; the rest of the prefix still goes there.
        whole = location(conf, f"~ ^/({'|'.join(service.prefixes)})(/|$)")
        assert "auth_request /_auth/verify;" in whole


def test_internal_routes_do_not_exist_at_the_gateway(nginx):
    conf, _ = nginx
    internal = [route.prefix for service in SERVICES for route in service.internal]
    assert internal, "the registry declares internal routes"
    for prefix in internal:
        assert "return 404;" in location(conf, f"^~ {prefix}")


def test_large_body_routes_allow_their_setting_and_ask_auth_unless_their_service_is_public(
    nginx,
):
    conf, _ = nginx
    seen = set()
    for service in SERVICES:
        for body in service.large_bodies:
            route = location(conf, f"~ {body.pattern}")
            assert f"client_max_body_size {EXAMPLE.get(body.setting, body.default)};" in route
            assert f"proxy_pass http://{service.name};" in route
            # A service behind auth_request keeps it; the console signs its users in itself.
            assert ("auth_request /_auth/verify;" in route) == bool(service.prefixes)
            seen.add(service.name)
    assert {"products", "console"} <= seen


def test_every_document_is_served_and_listed_on_the_docs_page(nginx):
    conf, docs = nginx
    listed = json.loads(re.search(r"urls: (\[.*?\]),", docs, re.S)[1])
    assert [entry["url"] for entry in listed] == [s.document for s in SERVICES if s.document]
    # The console serves pages, not an API: it has no document.
    for service in (s for s in SERVICES if s.document):
        if service.prefixes:
            assert f"proxy_pass http://{service.name};" in location(conf, f"= {service.document}")
        else:
            assert service.document.split("/")[1] in service.public, service.name


# --- docker-compose.yml (it is written by hand; test_compose.py checks the rest) ---


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_runs_each_service_its_relay_and_its_workers(compose):
    assert set(compose) - {"keys", "migrate"} == expected_programs()
    for service in SERVICES:
        assert compose[service.name]["command"][-1] == f"{service.module}:create_app()"


def test_compose_migrates_every_service_and_its_gateway_waits_for_each(compose):
    migrate = compose["migrate"]["environment"]
    gateway = compose["gateway"]
    for service in SERVICES:
        assert f"{service.env_prefix}_DB_PASSWORD" in migrate, service.name
        assert f"{service.env_prefix}_PORT" in gateway["environment"], service.name
        assert gateway["depends_on"][service.name]["condition"] == "service_healthy"


# --- the fuzzer, the monitoring targets, .env.example ---


def test_the_fuzzer_runs_against_every_document():
    assert [f"/{d}/openapi.json" for d in DOCUMENTS] == [s.document for s in SERVICES if s.document]


def test_every_monitored_service_has_its_health_pair_target_and_only_they_do():
    targets = yaml.safe_load((ROOT / "monitoring" / "targets.yaml").read_text())["targets"]
    pairs = {target["name"]: target for target in targets if target["kind"] == "pair"}
    assert set(pairs) == {s.name for s in SERVICES if s.monitored}
    for name, target in pairs.items():
        service = BY_NAME[name]
        assert target["enabled_if_service"] == name
        assert target["direct"]["url"] == f"${{{service.env_prefix}_URL}}/health/ready"
        assert target["via_gateway"]["url"] == f"${{GATEWAY_URL}}/health/{name}"


def test_every_relay_and_worker_with_a_health_route_has_its_target_and_only_they_do():
    """A relay or worker that stops or hangs alerts: `<service>-relay` checks /health/outbox of
    each service that emits, depending on its subscribers (whose outage is the root cause), and
    `<service>-<worker>` the route its registry Worker names as `health`."""
    targets = yaml.safe_load((ROOT / "monitoring" / "targets.yaml").read_text())["targets"]
    expected = {
        f"{s.name}-relay": (s, "/health/outbox", ["postgres", s.name, *subscribers(s.name)])
        for s in SERVICES
        if s.has_relay
    }
    expected |= {
        f"{s.name}-{w.name}": (s, w.health, ["postgres", s.name])
        for s in SERVICES
        for w in s.workers
        if w.health
    }
    routes = tuple({route for _, route, _ in expected.values()})
    watched = {
        target["name"]: target
        for target in targets
        if target["name"] in expected or target.get("url", "").endswith(routes)
    }
    assert set(watched) == set(expected)
    for name, (service, route, depends_on) in expected.items():
        target = watched[name]
        assert target["kind"] == "http", name
        assert target["enabled_if_service"] == service.name, name
        assert target["url"] == f"${{{service.env_prefix}_URL}}{route}", name
        assert target["depends_on"] == depends_on, name
        assert target["json"] == [{"path": "status", "equals": "ok"}], name


def test_the_gateway_suite_checks_every_internal_route_of_the_registry():
    """Its `@{INTERNAL_PREFIXES}` is written by hand, as the suites are a specification: this
    keeps it in step with the registry's `Internal` routes."""
    resource = (ROOT / "robot-tests" / "resources" / "gateway.resource").read_text()
    listed = re.search(r"^@\{INTERNAL_PREFIXES\}(.*?)^(?!\.\.\.)", resource, re.M | re.S)
    assert listed, "gateway.resource lists no @{INTERNAL_PREFIXES}"
    prefixes = set(re.findall(r"/[\w/]+", listed.group(1)))
    assert prefixes == {route.prefix for s in SERVICES for route in s.internal}


def test_env_example_lists_each_services_port_and_database_password():
    for service in SERVICES:
        assert EXAMPLE.get(f"{service.env_prefix}_PORT") == str(service.port), service.name
        assert f"{service.env_prefix}_DB_PASSWORD" in EXAMPLE, service.name
    ports = {
        key
        for key in EXAMPLE
        if key.endswith("_PORT")
        # The stack's, the stand-ins' and the SMTP server's ports are no service's.
        and not key.startswith(
            ("FEIRA_", "STRIPE_STANDIN_", "WHATSAPP_STANDIN_", "SMTP_", "SHOPS_STANDIN_")
        )
    }
    assert ports == {f"{s.env_prefix}_PORT" for s in SERVICES}


def test_the_make_test_stack_moves_every_service_off_the_dev_ports():
    test_env = parse_env_file(ROOT / "stack" / "test.env")
    ports = [int(test_env[f"{s.env_prefix}_PORT"]) for s in SERVICES]
    assert len(set(ports)) == len(ports)
    assert not set(ports) & {s.port for s in SERVICES}


def test_the_replica_stack_moves_every_service_off_the_dev_and_test_ports():
    """`make replicas` runs beside a dev stack and the test stack: a service without a port in
    stack/replicas.env would start its copies on its dev port (and port + 100 for the second)."""
    replicas = parse_env_file(ROOT / "stack" / "replicas.env")
    missing = [f"{s.env_prefix}_PORT" for s in SERVICES if f"{s.env_prefix}_PORT" not in replicas]
    assert not missing, f"stack/replicas.env lacks {missing}"
    test_env = parse_env_file(ROOT / "stack" / "test.env")
    taken = {s.port for s in SERVICES} | {int(test_env[f"{s.env_prefix}_PORT"]) for s in SERVICES}
    # The copies listen on the port, the port + 100, ... (stack/replicas.env).
    copies = [
        int(replicas[f"{s.env_prefix}_PORT"]) + 100 * index
        for s in SERVICES
        for index in range(int(replicas["FEIRA_SCALE"]))
    ]
    assert len(set(copies)) == len(copies)
    assert not set(copies) & taken


def test_the_readme_service_table_has_each_service_its_port_and_prefixes():
    text = (ROOT / "README.md").read_text()
    rows = {
        cells[0]: cells
        for line in text.splitlines()
        if line.startswith("| ")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
        if len(cells) == 5
    }
    for service in SERVICES:
        _, port, prefixes, schema, _ = rows[service.name]
        assert int(port) == service.port, service.name
        assert re.findall(r"`/([\w/-]+)`", prefixes) == [*service.prefixes, *service.public]
        assert schema == f"`{service.schema}`"


# --- which way the imports point ---

# Each service's own package (`services.clients`, `monitoring`): not the kit, not the registry.
DOMAIN = tuple(s.module for s in SERVICES)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def sources(*folders: str) -> list[Path]:
    return [
        path
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def test_the_services_and_their_kit_never_import_the_stack():
    for path in sources("services", *(s.module for s in SERVICES if "." not in s.module)):
        wrong = {m for m in imported_modules(path) if m == "stack" or m.startswith("stack.")}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_stack_fuzzer_and_bench_never_import_a_services_domain_code():
    for path in sources("stack", "fuzz", "bench"):
        wrong = {
            m
            for m in imported_modules(path)
            if any(m == d or m.startswith(f"{d}.") for d in DOMAIN)
        }
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_monitoring_worker_links_incident_mails_to_the_stacks_own_gateway(tmp_path):
    """Left empty in .env, MONITOR_PUBLIC_URL is the gateway this stack serves (its port
    included); set, it is as set."""

    def worker_url(**settings: str) -> str:
        cfg = StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path), **settings})
        worker = {p.name: p for p in programs(cfg, cfg.db_passwords())}["monitoring-worker"]
        return worker.environment["MONITOR_PUBLIC_URL"]

    assert worker_url(FEIRA_GATEWAY_PORT="18080") == "http://127.0.0.1:18080"
    assert worker_url(MONITOR_PUBLIC_URL="https://feira.example") == "https://feira.example"
