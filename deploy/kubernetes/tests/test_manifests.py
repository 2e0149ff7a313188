"""The Kubernetes manifests: generated from the registry and in step with it, every service with
what a cluster needs, probes on routes that exist, no secret value, only the registry's arrows
open. No cluster and no kubectl needed (make k8s-check builds and validates the overlays)."""

from __future__ import annotations

import importlib
import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.kubernetes import manifests
from deploy.kubernetes.check import drift
from services.kit.postgres import Cluster
from services.registry import BY_NAME, SERVICES
from stack.config import ROOT, present_services

HERE = Path(manifests.__file__).parent
BASE = HERE / "base"
PRESENT = present_services()


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return [doc for path in sorted(BASE.glob("*.yaml")) for doc in documents(path)]


def named(objects: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in objects if doc["kind"] == kind}


def containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_the_committed_base_is_what_the_generator_writes_from_the_registry_now():
    assert drift() == [], (
        "run `.venv/bin/python -m deploy.kubernetes` and commit deploy/kubernetes/base"
    )


def test_every_registry_service_has_a_deployment_service_policy_autoscaler_and_budget(base):
    # The stack's rule: a service declared before its package exists stays out until it does.
    assert [s.name for s in SERVICES if s.name in PRESENT] == PRESENT
    kinds = {
        kind: named(base, kind)
        for kind in (
            "Deployment",
            "Service",
            "NetworkPolicy",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "ServiceAccount",
        )
    }
    for name in [*PRESENT, "gateway"]:
        for kind in ("Deployment", "Service", "NetworkPolicy", "HorizontalPodAutoscaler"):
            assert name in kinds[kind], f"{name} has no {kind}"
        assert name in kinds["PodDisruptionBudget"], f"{name} has no PodDisruptionBudget"
        assert kinds["Service"][name]["spec"]["ports"][0]["port"] == (
            BY_NAME[name].port if name in BY_NAME else manifests.GATEWAY_PORT
        )
        assert f"feira-{name}" in kinds["ServiceAccount"]
    for service in (BY_NAME[name] for name in PRESENT):
        if service.has_relay:
            assert f"{service.name}-relay" in kinds["Deployment"]
            assert f"{service.name}-relay" in kinds["PodDisruptionBudget"]
        for worker in service.workers:
            assert f"{service.name}-{worker.name}" in kinds["Deployment"]


def test_each_process_runs_the_command_the_stack_supervises(base):
    from stack.processes import flask_command, relay_command, service_command

    deployments = named(base, "Deployment")
    for name in PRESENT:
        service = BY_NAME[name]
        expected = {name: service_command(name)}
        if service.has_relay:
            expected[f"{name}-relay"] = relay_command(name)
        for worker in service.workers:
            expected[f"{name}-{worker.name}"] = flask_command(name, *worker.command)
        for program, command in expected.items():
            container = deployments[program]["spec"]["template"]["spec"]["containers"][0]
            assert container["command"] == [Path(command[0]).name, *command[1:]]


def app_rules(name: str, jwt_keys: dict) -> set[str]:
    """The service's routes, from its own create_app (no database is opened to build them)."""
    module = importlib.import_module(BY_NAME[name].module)
    app = module.create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://probe:probe@127.0.0.1:9/none",
            "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
            "JWT_PRIVATE_KEY": jwt_keys["JWT_PRIVATE_KEY"],
            "SERVICE_URLS": {},
            "OUTBOX_SUBSCRIBERS": {},
            "OUTBOX_SECRET": "probe",
            "SESSION_CHECK": False,
            "SERVICE_KEYS": {},
            "CONSOLE_SECRET_KEY": "probe-" * 8,
        }
    )
    return {rule.rule for rule in app.url_map.iter_rules()}


def test_every_probe_path_is_a_route_of_its_service(base, jwt_keys):
    deployments = named(base, "Deployment")
    for name in PRESENT:
        rules = app_rules(name, jwt_keys)
        probes = [
            container[kind]["httpGet"]["path"]
            for container in deployments[name]["spec"]["template"]["spec"]["containers"]
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        ]
        assert manifests.readiness(BY_NAME[name]) in probes and manifests.LIVENESS in probes
        for path in probes:
            assert path in rules, f"{name} probes {path}, which it does not serve"
        # Prometheus finds each copy's /metrics from its pod's annotations.
        template = deployments[name]["spec"]["template"]
        scrape = template["metadata"]["annotations"]
        [port] = template["spec"]["containers"][0]["ports"]
        assert scrape["prometheus.io/scrape"] == "true"
        assert scrape["prometheus.io/port"] == str(port["containerPort"])
        assert scrape["prometheus.io/path"] in rules, f"{name} serves no metrics"
    # The gateway's own /health, served by nginx itself.
    assert "location = /health {" in (BASE / "gateway" / "nginx.conf").read_text()


def test_the_dashboard_stays_ready_while_its_database_is_down_and_the_apis_do_not(base, jwt_keys):
    """Readiness as the pods answer it, with the database unreachable: the dashboard answers from
    the worker's snapshot then (monitoring/routes.py), so it stays in its Service; an API that
    needs its database leaves its own."""
    deployments = named(base, "Deployment")
    for name, expected in (("monitoring", 200), ("clients", 503)):
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        path = container["readinessProbe"]["httpGet"]["path"]
        app = importlib.import_module(BY_NAME[name].module).create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://probe:probe@127.0.0.1:9/none",
                "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
                "SERVICE_URLS": {},
                "OUTBOX_SUBSCRIBERS": {},
                "OUTBOX_SECRET": "probe",
                "SERVICE_KEYS": {},
            }
        )
        assert app.test_client().get(path).status_code == expected, (name, path)
    assert set(manifests.READY_WITHOUT_DATABASE) <= set(BY_NAME)


def test_every_pod_runs_as_non_root_on_a_read_only_root_without_a_service_account_token(base):
    pods = [doc["spec"]["template"]["spec"] for doc in base if doc["kind"] in ("Deployment", "Job")]
    assert pods
    for pod in pods:
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]
        for container in pod["containers"]:
            mounted = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            assert "/tmp" in mounted  # noqa: S108 (an emptyDir: the only writable /tmp)
    for account in named(base, "ServiceAccount").values():
        assert account["automountServiceAccountToken"] is False


def mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * (1024 if unit == "Gi" else 1)


def test_auths_memory_limit_holds_a_password_hash_on_every_thread_at_once(base):
    # A burst of sign-ins hashes (argon2id) on every thread of both gunicorn workers at once.
    config = dict(
        line.split("=", 1) for line in (BASE / "config" / "auth.env").read_text().splitlines()
    )
    hashes = int(config["GUNICORN_WORKERS"]) * int(config["GUNICORN_THREADS"])
    hashing = hashes * int(config["ARGON2_MEMORY_KIB"]) // 1024
    app = named(base, "Deployment")["auth"]["spec"]["template"]["spec"]["containers"][0]
    web = manifests.RESOURCES["web"]["limits"]["memory"]
    assert mebibytes(app["resources"]["limits"]["memory"]) >= mebibytes(web) + hashing
    # Only auth hashes: the other web apps keep the web app's limit.
    products = named(base, "Deployment")["products"]["spec"]["template"]["spec"]["containers"][0]
    assert products["resources"]["limits"]["memory"] == web


def test_the_shared_volumes_are_written_by_one_side_and_read_only_on_the_other(base):
    deployments = named(base, "Deployment")
    products = deployments["products"]["spec"]["template"]["spec"]
    gateway = deployments["gateway"]["spec"]["template"]["spec"]
    claim = {"persistentVolumeClaim": {"claimName": "feira-media"}}
    assert any(
        v.get("persistentVolumeClaim") == claim["persistentVolumeClaim"]
        for v in products["volumes"]
    )
    assert any(
        v.get("persistentVolumeClaim") == claim["persistentVolumeClaim"] for v in gateway["volumes"]
    )
    mount = next(m for m in gateway["containers"][0]["volumeMounts"] if m["name"] == "media")
    assert mount["readOnly"] is True

    # monitoring's snapshot, as compose's volume: the worker writes it, the dashboard reads it.
    for name, read_only in (("monitoring-worker", False), ("monitoring", True)):
        pod = deployments[name]["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "snapshot")
        assert volume["persistentVolumeClaim"]["claimName"] == "feira-monitoring"
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "snapshot")
        assert mount.get("readOnly", False) is read_only


SECRET_WORDS = re.compile(r"(PASSWORD|SECRET|_KEY|TOKEN|DSN)$")


def test_no_secret_value_is_in_the_manifests_only_references_to_secrets(base):
    for path in (BASE / "config").glob("*.env"):
        for line in path.read_text().splitlines():
            key = line.partition("=")[0]
            assert not SECRET_WORDS.search(key), f"{path.name} holds {key}"
    for doc in base:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers(doc):
            for entry in container.get("env", []):
                if SECRET_WORDS.search(entry["name"]):
                    assert "secretKeyRef" in entry.get("valueFrom", {}), entry
                assert "value" not in entry or not re.search(
                    r"://[^:/]+:[^$@][^@]*@", entry["value"]
                ), f"a password in {entry['name']}"
    assert not [doc for doc in base if doc["kind"] == "Secret"]


def peers(rule: dict) -> set[str]:
    return {
        peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name", "")
        for peer in rule.get("from", rule.get("to", []))
        if "podSelector" in peer
    }


def test_network_policies_deny_all_then_open_only_the_registry_arrows(base):
    policies = named(base, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

    def egress(name: str) -> set[str]:
        return set().union(*(peers(rule) for rule in policies[name]["spec"]["egress"]))

    def ingress(name: str) -> set[str]:
        return set().union(*(peers(rule) for rule in policies[name]["spec"]["ingress"]))

    # The gateway reaches every service; every service is reached by the gateway.
    assert egress("gateway") == set(PRESENT)
    for name in PRESENT:
        assert "gateway" in ingress(name)
    # Internal routes: orders alone (of the callers listed) reaches inventory's reservations.
    assert "orders" in ingress("inventory")
    assert "payments" not in ingress("inventory")
    # Events: orders' relay delivers to its subscribers, and its web app does not.
    assert "notifications" in egress("orders-relay")
    assert "notifications" not in egress("orders")
    assert "orders-relay" in ingress("notifications")
    # monitoring's worker checks every monitored service directly, and goes through the gateway.
    monitored = {s.name for s in SERVICES if s.monitored and s.name in PRESENT}
    assert monitored <= egress("monitoring-worker")
    assert "gateway" in egress("monitoring-worker")
    if "console" in PRESENT:
        # The console is an API client (the gateway), and signs in and up at auth's internal
        # /auth/vouched: nothing else.
        assert egress("console") == {"gateway", "auth"}
        assert "console" in ingress("auth")
    if "collector" in PRESENT:
        assert "products" in egress("collector-worker")
        internet = [
            rule
            for rule in policies["collector-worker"]["spec"]["egress"]
            if any("ipBlock" in peer for peer in rule["to"])
        ]
        assert internet and "169.254.0.0/16" in internet[0]["to"][0]["ipBlock"]["except"]
    # auth calls no one.
    assert egress("auth") == set()
    # Prometheus, in the monitoring namespace alone, reaches the web apps' ports (their /metrics),
    # and nothing else: not the relays' or workers' pods, not the database.
    scrape = policies["metrics-scrape"]["spec"]
    assert scrape["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert scrape["policyTypes"] == ["Ingress"]
    [rule] = scrape["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    assert {p["port"] for p in rule["ports"]} == {BY_NAME[name].port for name in PRESENT}
    # DNS and the database for everyone.
    assert policies["dns"]["spec"]["egress"][0]["ports"][0] == {"protocol": "UDP", "port": 53}
    assert policies["to-database"]["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/part-of": "feira"}
    }


def test_every_service_waits_for_its_migrations_and_one_job_runs_them(base):
    for doc in named(base, "Deployment").values():
        if doc["metadata"]["name"] == "gateway":
            continue
        init = doc["spec"]["template"]["spec"]["initContainers"]
        assert init[0]["name"] == "wait-for-migrations"
        assert "db current" in init[0]["command"][-1]
    job = named(base, "Job")["migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python",
        "-m",
        "stack.compose",
        "migrate",
    ]


def test_the_overlays_set_the_image_and_production_uses_a_cloudnativepg_cluster():
    dev = documents(HERE / "overlays" / "dev" / "kustomization.yaml")[0]
    production = documents(HERE / "overlays" / "production" / "kustomization.yaml")[0]
    for overlay in (dev, production):
        assert overlay["images"][0]["name"] == manifests.IMAGE and overlay["images"][0]["newTag"]
        assert "../../base" in overlay["resources"]
    cluster = next(
        doc
        for doc in documents(HERE / "overlays" / "production" / "database.yaml")
        if doc["kind"] == "Cluster"
    )
    assert cluster["spec"]["instances"] >= 2
    # A release moves the database's minor version, not the registry's rolling `15` tag.
    assert re.search(r":\d+\.\d+(-[a-z]+)*$", cluster["spec"]["imageName"])
    assert cluster["spec"]["superuserSecret"]["name"] == manifests.SUPERUSER_SECRET
    assert cluster["spec"]["inheritedMetadata"]["labels"] == {"feira.dev/database": "true"}
    database = next(g for g in production["configMapGenerator"] if g["name"] == "feira-database")
    assert "host=feira-db-rw" in database["literals"]
    statefulset = next(
        doc
        for doc in documents(HERE / "overlays" / "dev" / "postgres.yaml")
        if doc["kind"] == "StatefulSet"
    )
    assert statefulset["spec"]["volumeClaimTemplates"]
    assert statefulset["spec"]["template"]["metadata"]["labels"]["feira.dev/database"] == "true"


def test_production_archives_the_database_to_an_object_store_and_backs_it_up_daily():
    # A rollback starts with a Backup (README: "Rolling back"): it needs somewhere to go.
    database = documents(HERE / "overlays" / "production" / "database.yaml")
    by_kind = {doc["kind"]: doc for doc in database}
    cluster, store = by_kind["Cluster"], by_kind["ObjectStore"]
    [archiver] = [plugin for plugin in cluster["spec"]["plugins"] if plugin.get("isWALArchiver")]
    assert archiver["parameters"]["barmanObjectName"] == store["metadata"]["name"]
    assert store["spec"]["configuration"]["destinationPath"].startswith("s3://")
    scheduled = by_kind["ScheduledBackup"]["spec"]
    assert scheduled["cluster"]["name"] == cluster["metadata"]["name"]
    assert scheduled["method"] == "plugin"
    assert scheduled["pluginConfiguration"]["name"] == archiver["name"]
    # CloudNativePG's schedule has six fields, the seconds first.
    assert len(scheduled["schedule"].split()) == 6


def settings(arguments: list[str]) -> dict[str, str]:
    """`-c name=value` pairs of a postgres command line."""
    pairs = itertools.pairwise(arguments)
    return dict(value.split("=", 1) for flag, value in pairs if flag == "-c")


def test_no_postgres_feira_runs_logs_the_values_a_refused_statement_quotes():
    # A duplicate CPF's DETAIL reads "Key (cpf)=(454.090.000-56) already exists".
    quiet = {"log_min_messages": "fatal", "log_error_verbosity": "terse", "log_statement": "none"}
    cluster = next(
        doc
        for doc in documents(HERE / "overlays" / "production" / "database.yaml")
        if doc["kind"] == "Cluster"
    )
    statefulset = next(
        doc
        for doc in documents(HERE / "overlays" / "dev" / "postgres.yaml")
        if doc["kind"] == "StatefulSet"
    )
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    stack = Cluster(datadir=Path("/nonexistent"), port=5433, socket_dir=Path("/nonexistent"))
    found = {
        "production": cluster["spec"]["postgresql"]["parameters"],
        "dev": settings(next(c["args"] for c in containers(statefulset) if "args" in c)),
        "compose": settings(compose["services"]["postgres"]["command"]),
        "stack": settings(stack.server_command()),
    }
    for where, parameters in found.items():
        assert {name: parameters.get(name) for name in quiet} == quiet, where


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_the_gateway_config_and_its_credential_init_script_pass_nginx_t(tmp_path):
    """The rendered nginx.conf, with the cluster's paths and Service names swapped for this
    machine's, and the credential file the init container writes, are what nginx accepts."""
    run = tmp_path / "run"
    conf = (BASE / "gateway" / "nginx.conf").read_text()
    assert "server auth:5001 max_fails=0;" in conf
    assert "$feira_gateway_credential" in conf
    conf = conf.replace(manifests.RUN, str(run)).replace(f"{manifests.APP}/", f"{ROOT}/")
    conf = re.sub(r"server [a-z]+:(\d+)", r"server 127.0.0.1:\1", conf)
    (run / "nginx").mkdir(parents=True)
    (run / "verify-cache").mkdir()
    (run / "nginx" / "nginx.conf").write_text(conf)
    script = manifests.CREDENTIAL_SCRIPT.replace(manifests.RUN, str(run))
    subprocess.run(
        [sys.executable, "-c", script], check=True, env={"GATEWAY_SERVICE_KEY": "k3y-for.test"}
    )
    credential = (run / "nginx" / "credential.conf").read_text()
    assert '"gateway.k3y-for.test"' in credential
    refused = subprocess.run(
        [sys.executable, "-c", script], env={"GATEWAY_SERVICE_KEY": 'x"; evil'}, check=False
    )
    assert refused.returncode != 0
    result = subprocess.run(
        ["nginx", "-t", "-p", str(run / "nginx"), "-c", "nginx.conf", "-e", "stderr"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_secrets_command_makes_every_secret_the_manifests_reference(base, capsys):
    from deploy.kubernetes.secrets import main

    assert main() == 0
    made = {
        doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(capsys.readouterr().out) if doc
    }
    for doc in base:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in containers(doc):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    assert ref["key"] in made[ref["name"]]["stringData"], ref
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in made
    assert made["feira-pg-superuser"]["type"] == "kubernetes.io/basic-auth"
    assert "BEGIN" in made["feira-jwt-signing"]["stringData"]["jwt_private.pem"]


def test_secrets_txt_lists_every_secret_referenced_the_optional_ones_too(base):
    listed = {
        line.partition(":")[0]
        for line in (BASE / "secrets.txt").read_text().splitlines()
        if not line.startswith("#")
    }
    referenced = {
        entry["valueFrom"]["secretKeyRef"]["name"]
        for doc in base
        if doc["kind"] in ("Deployment", "Job")
        for container in containers(doc)
        for entry in container.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }
    assert {"feira-smtp", "feira-sentry", "feira-webhook"} <= referenced
    assert referenced <= listed
    assert {"feira-tls", "feira-backup"} <= listed


@pytest.mark.slow
def test_the_wait_for_migrations_command_lets_a_pod_start_once_its_schema_is_at_head(
    base, database, tmp_path
):
    """The init container's own shell line, on a real Postgres: `flask db current` says
    `(head)` once `flask db upgrade` (what the migrate Job runs) has brought the schema there."""
    from services.kit.keys import ensure_keypair

    private, public = tmp_path / "jwt_private.pem", tmp_path / "jwt_public.pem"
    ensure_keypair(private, public)
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "DATABASE_URL": database.url("inventory"),
        "JWT_PUBLIC_KEY_FILE": str(public),
        "OUTBOX_SECRET": "probe",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [str(bin_dir / "flask"), "--app", "services.inventory:create_app", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    init = named(base, "Deployment")["inventory"]["spec"]["template"]["spec"]["initContainers"][0]
    assert init["command"][:2] == ["sh", "-c"]
    waited = subprocess.run(
        ["timeout", "60", *init["command"]], env=env, cwd=ROOT, capture_output=True, check=False
    )
    assert waited.returncode == 0, waited.stdout + waited.stderr


def test_the_schema_check_refuses_an_unknown_field_and_a_kind_it_cannot_check(tmp_path):
    from deploy.kubernetes.check import validate

    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}]},
    }
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(service))
    assert validate([good]) == []
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump({**service, "spec": {"port": [{"port": 80}]}}))
    assert validate([typo])
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget"}))
    assert validate([unknown])
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(
        yaml.safe_dump({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "spec": {}})
    )
    assert validate([cluster]) == []


def site_references(doc: dict) -> set[str]:
    return {
        entry["name"]
        for container in containers(doc)
        for entry in container.get("env", [])
        if entry.get("valueFrom", {}).get("configMapKeyRef", {}).get("name") == "feira-site"
    }


def test_what_only_the_operator_knows_is_read_from_one_site_configmap(base):
    site = set(manifests.SITE_SETTINGS)
    for path in (BASE / "config").glob("*.env"):
        if path.name != "site.env":
            keys = {line.partition("=")[0] for line in path.read_text().splitlines()}
            assert not keys & site, f"{path.name} holds {keys & site}"
    deployments = named(base, "Deployment")
    assert site_references(named(base, "Job")["migrate"]) == {
        "FEIRA_ADMIN_EMAIL",
        "FEIRA_MONITOR_EMAIL",
    }
    assert {"MONITOR_EMAIL_TO", "FEIRA_MONITOR_EMAIL", "MONITOR_PUBLIC_URL"} <= site_references(
        deployments["monitoring-worker"]
    )
    # No address people reach a cluster at is known to the base (the in-cluster gateway is no
    # link for a mail client): the incident mails have no link until the site sets one.
    assert "MONITOR_PUBLIC_URL=" in (BASE / "config" / "site.env").read_text().splitlines()
    assert {"WHATSAPP_PHONE_NUMBER_ID", "COLLECTOR_ALERT_TO"} <= site_references(
        deployments["notifications-sender"]
    )
    # Every shop the collector reads is told whose crawler it is: the operator's page, not Feira's.
    assert "COLLECTOR_CONTACT_URL" in site_references(deployments["collector-worker"])
    # Only the processes the stack gives them: the dashboard reads none.
    assert site_references(deployments["monitoring"]) == set()


def test_production_holds_no_development_value_and_the_check_finds_the_bases(overlays):
    from deploy.kubernetes.check import development_values

    assert development_values(overlays["production"]) == []
    found = "\n".join(development_values(overlays["dev"]))
    for leftover in (
        "WHATSAPP_PHONE_NUMBER_ID=100000000000001",
        "MONITOR_EMAIL_TO=sre@feira.local",
        "COLLECTOR_ALERT_TO=admin@feira.local",
        "FEIRA_ADMIN_EMAIL=admin@feira.local",
        "SMTP_HOST=smtp.invalid",
    ):
        assert leftover in found
    # Every setting production leaves to its operator is one it sets.
    production = documents(HERE / "overlays" / "production" / "kustomization.yaml")[0]
    [site] = [g for g in production["configMapGenerator"] if g["name"] == "feira-site"]
    assert {literal.partition("=")[0] for literal in site["literals"]} == set(
        manifests.SITE_SETTINGS
    )


def test_before_an_apply_every_placeholder_production_still_holds_is_refused(overlays):
    # `make k8s-check APPLY=production` fails on these; the committed template holds them all.
    from deploy.kubernetes.check import main, placeholders, placeholders_refused

    production = overlays["production"]
    assert placeholders_refused("production", production, apply=None) == []
    assert placeholders_refused("production", production, apply="dev") == []
    assert placeholders_refused("dev", overlays["dev"], apply="dev") == []
    assert main(apply="no-such-overlay") == 2
    found = "\n".join(placeholders_refused("production", production, apply="production"))
    for placeholder in (
        "WHATSAPP_PHONE_NUMBER_ID=REPLACE-",
        "COLLECTOR_CONTACT_URL=https://REPLACE-",
        "FEIRA_ADMIN_EMAIL=admin@example.com",
        "SMTP_HOST=smtp.example.com",
        "host=feira.example.com",
        "image=registry.example.com/feira:",
        "destinationPath=s3://REPLACE-",
    ):
        assert placeholder in found
    # Once the operator's values are in, none is left; dev has none.
    text = yaml.safe_dump_all(overlays["production"])
    text = re.sub(r"REPLACE[\w-]*", "filled", text).replace("example.com", "feira.com.br")
    assert placeholders([doc for doc in yaml.safe_load_all(text) if doc]) == []
    assert placeholders(overlays["dev"]) == []


def test_a_non_dev_overlay_that_leaves_the_dashboards_address_empty_is_found(overlays):
    # The base leaves MONITOR_PUBLIC_URL empty: an overlay that forgets it mails incidents with no
    # link to the dashboard. Production's placeholder (https://feira.example.com) is not found.
    import copy

    from deploy.kubernetes.check import development_values

    production = copy.deepcopy(overlays["production"])
    [site] = [
        doc
        for doc in production
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("feira-site-")
    ]
    assert site["data"]["MONITOR_PUBLIC_URL"] == "https://feira.example.com"
    empty = f"ConfigMap {site['metadata']['name']}: MONITOR_PUBLIC_URL is empty"

    site["data"]["MONITOR_PUBLIC_URL"] = ""
    assert development_values(production) == [empty]
    site["data"]["MONITOR_PUBLIC_URL"] = " "
    assert development_values(production) == [empty]
    del site["data"]["MONITOR_PUBLIC_URL"]
    assert development_values(production) == [empty]
    # One the worker would refuse at start, as it does (no scheme): found before it restarts.
    site["data"]["MONITOR_PUBLIC_URL"] = "feira.example.com"
    [refused] = development_values(production)
    assert "MONITOR_PUBLIC_URL: must be an http(s) URL" in refused
    assert any(
        line.endswith("MONITOR_PUBLIC_URL is empty") for line in development_values(overlays["dev"])
    )
