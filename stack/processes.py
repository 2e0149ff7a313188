"""The process list: what supervisord runs here and docker-compose runs in containers."""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .config import ROOT, StackConfig
from .postgres import Cluster, reachable_by, server_user

VENV_BIN = Path(sys.executable).parent
# Who receives whose events (the outbox relay of the producer POSTs to each consumer).
SUBSCRIPTIONS = {
    "clients": ("inventory",),
    "products": ("clients", "inventory"),
    "inventory": ("products",),
    "orders": ("inventory",),
}
MONITORING = "monitoring"
# Settings only the monitoring worker gets (a webhook URL may carry a token of its own).
MONITOR_SETTINGS = ("MONITOR_", "WEBHOOK_")


@dataclass
class Program:
    name: str
    command: list[str]
    port: int
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    priority: int = 100
    stopsignal: str = "TERM"


def pg_home(cfg: StackConfig) -> Path:
    """`.run/pg`, unless the checkout sits where the unprivileged server account cannot reach
    (a root-only home): then a private directory in /var/tmp, linked from `.run/pg`."""
    home = cfg.run_dir / "pg"
    user = server_user()
    if home.is_symlink() or user is None:
        return home.resolve()
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    if reachable_by(user, cfg.run_dir):
        return home
    tag = hashlib.sha256(str(cfg.run_dir).encode()).hexdigest()[:12]
    elsewhere = Path("/var/tmp") / f"feira-pg-{tag}"  # noqa: S108 (chowned to the server user)
    elsewhere.mkdir(mode=0o755, exist_ok=True)
    home.symlink_to(elsewhere)
    return elsewhere


def cluster(cfg: StackConfig) -> Cluster:
    home = pg_home(cfg)
    return Cluster(datadir=home / "data", port=cfg.pg_port, socket_dir=home / "sock")


def app_module(service: str) -> str:
    """The package with the process's create_app(): services/<name>, or monitoring/."""
    return MONITORING if service == MONITORING else f"services.{service}"


def service_command(service: str) -> list[str]:
    return [
        str(VENV_BIN / "gunicorn"),
        "--config",
        "stack/gunicorn.conf.py",
        f"{app_module(service)}:create_app()",
    ]


def flask_command(service: str, *args: str) -> list[str]:
    """A service's Flask CLI: migrations, the first admin, the outbox relay, the monitor."""
    return [str(VENV_BIN / "flask"), "--app", f"{app_module(service)}:create_app", *args]


def relay_command(service: str) -> list[str]:
    return flask_command(service, "outbox-relay")


def subscribers(cfg: StackConfig, service: str) -> str:
    return ",".join(
        f"{name}={cfg.service_url(name)}/internal/events"
        for name in SUBSCRIPTIONS.get(service, ())
        if name in cfg.services
    )


def service_environment(
    cfg: StackConfig, service: str, passwords: dict[str, str]
) -> dict[str, str]:
    passthrough = {
        key: value
        for key, value in cfg.env.items()
        if not key.startswith(("FEIRA_", *MONITOR_SETTINGS))
        and not key.endswith(("_DB_PASSWORD", "_PORT"))
        and value
    }
    environment = {
        **passthrough,
        "PORT": str(cfg.port(service)),
        "SERVICE_HOST": cfg.host,
        "DATABASE_URL": cfg.database_url(service, passwords[service]),
        "JWT_PUBLIC_KEY_FILE": str(cfg.public_key_path),
        "PROMETHEUS_MULTIPROC_DIR": str(cfg.run_dir / "metrics" / service),
        "OUTBOX_SECRET": cfg.secrets()["OUTBOX_SECRET"],
        "OUTBOX_SUBSCRIBERS": subscribers(cfg, service),
        **{f"{name.upper()}_URL": cfg.service_url(name) for name in cfg.services},
    }
    if service == "auth":
        environment["JWT_PRIVATE_KEY_FILE"] = str(cfg.private_key_path)
    if service == "products":
        environment["MEDIA_DIR"] = str(cfg.media_dir)
    return environment


def relay_environment(cfg: StackConfig, service: str, passwords: dict[str, str]) -> dict[str, str]:
    """The service's environment, less the metrics directory: the relay serves no /metrics, and
    prometheus_client would write its files wherever that variable points."""
    environment = service_environment(cfg, service, passwords)
    del environment["PROMETHEUS_MULTIPROC_DIR"]
    return environment


def monitoring_programs(cfg: StackConfig, passwords: dict[str, str]) -> list[Program]:
    """The status dashboard (gunicorn, served at /status) and the worker that checks every target.
    Neither publishes nor receives events, so neither holds the outbox secret."""
    dashboard = service_environment(cfg, MONITORING, passwords)
    for key in ("OUTBOX_SECRET", "OUTBOX_SUBSCRIBERS"):
        del dashboard[key]
    worker = {key: value for key, value in dashboard.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    worker.update(
        {key: value for key, value in cfg.env.items() if key.startswith(MONITOR_SETTINGS) and value}
    )
    # The synthetic journey goes through the gateway, signed in as the admin.
    worker["GATEWAY_URL"] = cfg.gateway_url
    worker["FEIRA_ADMIN_EMAIL"] = cfg.get("FEIRA_ADMIN_EMAIL")
    worker["FEIRA_ADMIN_PASSWORD"] = cfg.get("FEIRA_ADMIN_PASSWORD")
    return [
        Program(MONITORING, service_command(MONITORING), cfg.port(MONITORING), dashboard),
        Program(
            f"{MONITORING}-worker",
            flask_command(MONITORING, "worker"),
            0,
            worker,
            priority=150,
        ),
    ]


def programs(cfg: StackConfig, passwords: dict[str, str]) -> list[Program]:
    pg = cluster(cfg)
    listed = [
        Program(
            "postgres",
            pg.server_command(),
            cfg.pg_port,
            user=server_user(),
            priority=10,
            # SIGINT is Postgres' "fast" shutdown: it does not wait for idle pooled connections.
            stopsignal="INT",
        )
    ]
    listed += [
        Program(
            name, service_command(name), cfg.port(name), service_environment(cfg, name, passwords)
        )
        for name in cfg.services
    ]
    listed += [
        Program(
            f"{name}-relay",
            relay_command(name),
            0,
            relay_environment(cfg, name, passwords),
            priority=150,
        )
        for name in cfg.services
        if name in SUBSCRIPTIONS
    ]
    listed += monitoring_programs(cfg, passwords)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    listed.append(
        Program(
            "gateway",
            [nginx, "-p", str(cfg.run_dir / "nginx"), "-c", "nginx.conf", "-g", "daemon off;"],
            cfg.gateway_port,
            priority=200,
            stopsignal="QUIT",
        )
    )
    return listed


def render_supervisor(cfg: StackConfig, passwords: dict[str, str]) -> Path:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    templates = Environment(  # noqa: S701 (renders a config file, not HTML)
        loader=FileSystemLoader(ROOT / "stack" / "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    target = cfg.run_dir / "supervisord.conf"
    target.write_text(
        templates.get_template("supervisord.conf.j2").render(
            root=ROOT,
            run=cfg.run_dir,
            logs=cfg.logs_dir,
            programs=programs(cfg, passwords),
            quote=_supervisor_quote,
            command_line=_command_line,
        )
    )
    target.chmod(0o600)
    return target


def _supervisor_quote(value: str) -> str:
    """supervisord expands %(name)s, so a literal % is doubled; values are double-quoted."""
    return '"' + value.replace("%", "%%").replace('"', '\\"') + '"'


def _command_line(command: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(part) for part in command).replace("%", "%%")
