"""The process list: what supervisord runs here and docker-compose runs in containers."""

from __future__ import annotations

import hashlib
import math
import pwd
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from services.kit.keys import replace_file
from services.kit.private import private_dir
from services.registry import BY_NAME, SERVICES, Service, Worker
from services.registry import subscribers as registry_subscribers

from .config import MAIL_SETTINGS, PROVIDER_SECRETS, ROOT, StackConfig
from .postgres import Cluster, reachable_by, server_user, socket_fits

VENV_BIN = Path(sys.executable).parent
# Who receives whose events (the outbox relay of the producer POSTs to each consumer), from what
# each service emits and hears in the registry.
SUBSCRIPTIONS = {s.name: registry_subscribers(s.name) for s in SERVICES if s.has_relay}
# Settings only one worker gets (a webhook URL may carry a token of its own): no other process.
WORKER_SETTINGS = tuple(prefix for s in SERVICES for w in s.workers for prefix in w.settings)


@dataclass
class Program:
    name: str
    command: list[str]
    port: int
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    priority: int = 100
    stopsignal: str = "TERM"
    # Seconds from the stop signal to SIGKILL (supervisord's stopwaitsecs; compose's
    # stop_grace_period and, 30 at least, Kubernetes' terminationGracePeriodSeconds too).
    stopwaitsecs: int = 20
    # The working directory; the checkout unless given. supervisord enters it after dropping to
    # `user`, so the server account's program runs where that account can go.
    directory: Path | None = None
    # Another port it listens on, which answers `GET /_standin/health` (a stand-in whose main
    # port speaks another protocol: the SMTP sink's HTTP read-back).
    http_port: int | None = None


def pg_elsewhere(cfg: StackConfig) -> Path:
    """A short path of this run directory's own outside the checkout, in /var/tmp: one the
    server account can reach, named after the run directory."""
    tag = hashlib.sha256(str(cfg.run_dir).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"feira-pg-{tag}"  # noqa: S108 (made private by private_elsewhere)


def private_elsewhere(cfg: StackConfig, place: Path | None = None) -> Path:
    """`place` (pg_elsewhere unless given) made a mode-700 directory of the server account's.
    Anyone can work its name out and make it first: one that is a link, someone else's or
    writable by others is refused (its maker could swap the socket for a listener of theirs and
    read the roles' passwords `provision` sends), never taken over."""
    place = place or pg_elsewhere(cfg)
    user = server_user()
    entry = pwd.getpwnam(user) if user else None
    private_dir(
        place,
        (entry.pw_uid, entry.pw_gid) if entry else None,
        holds="the stack's PostgreSQL socket, and its data if the checkout is closed to the server",
    )
    return place


def pg_home(cfg: StackConfig) -> Path:
    """`.run/pg`, unless the checkout sits where the unprivileged server account cannot reach
    (a root-only home): then a private directory in /var/tmp, linked from `.run/pg`."""
    home = cfg.run_dir / "pg"
    user = server_user()
    if home.is_symlink():
        # Checked on every run: /var/tmp may have been swept and the name taken since.
        return private_elsewhere(cfg, home.parent / home.readlink())
    if user is None:
        return home.resolve()
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    if reachable_by(user, cfg.run_dir):
        return home
    elsewhere = private_elsewhere(cfg)
    home.symlink_to(elsewhere)
    return elsewhere


def cluster(cfg: StackConfig) -> Cluster:
    """The stack's cluster; its socket in pg_elsewhere when `.run/pg/sock` would make too long a
    socket path for PostgreSQL (a checkout deep in the tree), the data staying in `.run/pg`."""
    home = pg_home(cfg)
    sock = home / "sock"
    if not socket_fits(sock, cfg.pg_port):
        sock = private_elsewhere(cfg) / "sock"
    return Cluster(datadir=home / "data", port=cfg.pg_port, socket_dir=sock, durable=cfg.pg_durable)


def app_module(service: str) -> str:
    """The package with the process's create_app(), as the registry names it."""
    return BY_NAME[service].module


def service_command(service: str) -> list[str]:
    return [
        str(VENV_BIN / "gunicorn"),
        "--config",
        "stack/gunicorn.conf.py",
        f"{app_module(service)}:create_app()",
    ]


def flask_command(service: str, *args: str) -> list[str]:
    """A service's Flask CLI: migrations, the first admin, the outbox relay, a worker."""
    return [str(VENV_BIN / "flask"), "--app", f"{app_module(service)}:create_app", *args]


def relay_command(service: str) -> list[str]:
    return flask_command(service, "outbox-relay")


def subscribers(cfg: StackConfig, service: str) -> str:
    """`name=url,…`; with SCALE > 1 each subscriber's copies joined by `|` (`name=url1|url2`): the
    relay tries the next copy when one does not answer (services/kit/outbox.py)."""
    return ",".join(
        f"{name}=" + "|".join(f"{url}/internal/events" for url in cfg.service_urls(name).split(","))
        for name in SUBSCRIPTIONS.get(service, ())
        if name in cfg.services
    )


def copy_name(name: str, copy: int, scale: int) -> str:
    """A program's name: as it always was when one copy runs; `clients-1`, `clients-2`,
    `clients-relay-1`, … when SCALE > 1."""
    return name if scale == 1 else f"{name}-{copy}"


def copies_of(cfg: StackConfig, name: str) -> list[str]:
    """What `python -m stack stop NAME` means: NAME's copies when NAME is a program's base name
    (`clients` is `clients-1` and `clients-2` with SCALE=2), else NAME itself (`clients-2`)."""
    if cfg.scale == 1 or name in program_names(cfg):
        return [name]
    listed = [copy_name(name, k, cfg.scale) for k in range(1, cfg.scale + 1)]
    known = set(program_names(cfg))
    return listed if all(program in known for program in listed) else [name]


def service_environment(
    cfg: StackConfig, service: str, passwords: dict[str, str], copy: int = 1
) -> dict[str, str]:
    passthrough = {
        key: value
        for key, value in cfg.env.items()
        if not key.startswith(
            ("FEIRA_", "STRIPE_STANDIN_", "WHATSAPP_", "SMTP_", "SHOPS_STANDIN_", *WORKER_SETTINGS)
        )
        and not key.endswith(("_DB_PASSWORD", "_PORT", "_SERVICE_KEY"))
        # Set below, for the services that sign or check events only, for payments, for
        # notifications (WhatsApp and mail) and monitoring's worker (mail).
        and key
        not in (
            "OUTBOX_SECRET",
            "PAYMENTS_PROVIDER_URL",
            "CONSOLE_SECRET_KEY",
            "COLLECTOR_ALERT_TO",
            *PROVIDER_SECRETS,
            *MAIL_SETTINGS,
        )
        and value
    }
    environment = {
        **passthrough,
        "PORT": str(cfg.ports(service)[copy - 1]),
        "SERVICE_HOST": cfg.host,
        "DATABASE_URL": cfg.database_url(service, passwords[service]),
        "JWT_PUBLIC_KEY_FILE": str(cfg.public_key_path),
        "PROMETHEUS_MULTIPROC_DIR": str(cfg.run_dir / "metrics" / metrics_name(service, copy)),
        **{f"{name.upper()}_URL": cfg.service_url(name) for name in cfg.services},
        # With SCALE > 1, every copy of each service: the kit's client goes to the next one
        # when a copy does not take the connection (NAME_URL stays the first copy's).
        **(
            {f"{name.upper()}_URLS": cfg.service_urls(name) for name in cfg.services}
            if cfg.scale > 1
            else {}
        ),
        # Its own credential key and its internal routes' callers' (kit.security), no other.
        **cfg.service_keys(service),
    }
    # Only a service that emits or hears events holds the secret that signs them.
    if BY_NAME[service].has_outbox:
        environment["OUTBOX_SECRET"] = cfg.secrets()["OUTBOX_SECRET"]
        environment["OUTBOX_SUBSCRIBERS"] = subscribers(cfg, service)
    if service == "auth":
        environment["JWT_PRIVATE_KEY_FILE"] = str(cfg.private_key_path)
    if BY_NAME[service].through_gateway:
        # The console calls the API as its signed-in users do, through the gateway.
        environment["GATEWAY_URL"] = cfg.gateway_url
    if service == "console":
        environment["CONSOLE_SECRET_KEY"] = cfg.secrets()["CONSOLE_SECRET_KEY"]
    if service == "products":
        environment["MEDIA_DIR"] = str(cfg.media_dir)
    if service == "payments":
        # The provider's URL, API key and webhook secret: payments' processes alone hold them.
        environment.update(cfg.payments_provider())
    if service == "notifications":
        # WhatsApp's URL, token, app secret and verify token, and the SMTP settings: its web app
        # (webhooks), relay and sender alone hold them.
        environment.update(cfg.whatsapp())
        environment.update(cfg.mail())
        # Who is told of a collector run that failed or was partial.
        environment["COLLECTOR_ALERT_TO"] = cfg.get("COLLECTOR_ALERT_TO") or cfg.get(
            "FEIRA_ADMIN_EMAIL", "admin@feira.local"
        )
    # What its workers share with it (the registry's Worker.shared): set even when empty.
    for worker in BY_NAME[service].workers:
        environment.update({key: cfg.get(key) for key in worker.shared})
    if service == "monitoring":
        # The worker writes what it knows there; the dashboard answers from it while Postgres
        # is down (monitoring/snapshot.py).
        environment["MONITOR_SNAPSHOT_FILE"] = str(cfg.run_dir / "monitoring" / "snapshot.json")
    return environment


def metrics_name(service: str, copy: int) -> str:
    """Each copy of a web app keeps its metrics files apart: one copy's /metrics is its own."""
    return service if copy == 1 else f"{service}-{copy}"


def relay_environment(cfg: StackConfig, service: str, passwords: dict[str, str]) -> dict[str, str]:
    """The service's environment, less the metrics directory: the relay serves no /metrics, and
    prometheus_client would write its files wherever that variable points."""
    environment = service_environment(cfg, service, passwords)
    del environment["PROMETHEUS_MULTIPROC_DIR"]
    return environment


def worker_environment(
    cfg: StackConfig, service: str, worker: Worker, passwords: dict[str, str]
) -> dict[str, str]:
    """A worker runs like the relay (no /metrics of its own), with its own settings besides."""
    environment = relay_environment(cfg, service, passwords)
    environment.update(
        {key: value for key, value in cfg.env.items() if key.startswith(worker.settings) and value}
    )
    if worker.through_gateway:
        environment["GATEWAY_URL"] = cfg.gateway_url
        # It signs in as the least-privilege monitor account (`make up` creates it), never the
        # admin: a leaked worker environment then grants no admin rights.
        environment.update(cfg.monitor_account())
    if service == "monitoring":
        # Incidents are mailed to MONITOR_EMAIL_TO through the SMTP settings, their links to the
        # dashboard under the gateway people reach.
        environment.update(cfg.mail())
        environment.setdefault("MONITOR_PUBLIC_URL", cfg.public_url)
    return environment


def service_programs(
    cfg: StackConfig, service: Service, passwords: dict[str, str]
) -> list[Program]:
    """A service's web app, its outbox relay if it emits events, and its workers: SCALE copies
    of each (README: "Running on Kubernetes", N replicas), each web app copy on its own port."""
    name, scale = service.name, cfg.scale
    listed = [
        Program(
            copy_name(name, k, scale),
            service_command(name),
            port,
            service_environment(cfg, name, passwords, copy=k),
        )
        for k, port in enumerate(cfg.ports(name), start=1)
    ]
    if service.has_relay:
        environment = relay_environment(cfg, name, passwords)
        listed += [
            Program(
                copy_name(f"{name}-relay", k, scale),
                relay_command(name),
                0,
                environment,
                priority=150,
            )
            for k in range(1, scale + 1)
        ]
    for worker in service.workers:
        environment = worker_environment(cfg, name, worker, passwords)
        listed += [
            Program(
                copy_name(f"{name}-{worker.name}", k, scale),
                flask_command(name, *worker.command),
                0,
                environment,
                priority=150,
                stopwaitsecs=stop_wait_s(f"{name}-{worker.name}", environment),
            )
            for k in range(1, scale + 1)
        ]
    return listed


# Once told to stop, a worker ends what it is doing before it exits. Where that can take longer
# than Program's stopwaitsecs, this is the longest it can take with the settings the process gets
# (a margin is added for the database work around it): killed sooner, a worker can be cut off
# mid-call (a collector run then waits for the recovery to fail it, a message may go twice).
STOP_MARGIN_S = 10
# The steps of a mail, each within the kit's timeout (services/kit/mail.py: the connection and
# each reply): the connection, the greeting, EHLO, STARTTLS, the TLS handshake, EHLO again, AUTH
# (two replies for LOGIN), MAIL FROM, RCPT TO, DATA, the message, QUIT.
SMTP_STEPS = 13
# The collector's read timeout for a batch or a picture sent to products: its SLOW_READ_TIMEOUT_S
# (services/collector/products.py), which the stack may not import (a service's own code); the
# tests keep the two equal.
PRODUCTS_SLOW_READ_S = 60.0


def collector_stop_s(env: dict[str, str]) -> float:
    """A request to a site under way (within COLLECTOR_TOTAL_TIMEOUT_S), then the products call
    that takes its rows or picture: each attempt within the connect timeout and the slow calls'
    read timeout (services/collector/products.py), tried again HTTP_RETRIES times (idempotent)."""
    attempt = _setting(env, "HTTP_CONNECT_TIMEOUT") + max(
        _setting(env, "HTTP_READ_TIMEOUT"), PRODUCTS_SLOW_READ_S
    )
    retries = int(_setting(env, "HTTP_RETRIES"))
    return _setting(env, "COLLECTOR_TOTAL_TIMEOUT_S") + (retries + 1) * attempt


# What the services take when a setting is absent or empty (services/kit/settings.py and the
# collector's own), which the process's environment then leaves out: the stack imports no
# service's code, and stack/tests/test_stop_wait.py keeps these equal to theirs.
UNSET_DEFAULTS = {
    "HTTP_CONNECT_TIMEOUT": 0.5,
    "HTTP_READ_TIMEOUT": 3.0,
    "HTTP_RETRIES": 2,
    "COLLECTOR_TOTAL_TIMEOUT_S": 30.0,
}


def _setting(env: dict[str, str], key: str) -> float:
    return float(env.get(key) or UNSET_DEFAULTS[key])


def sender_stop_s(env: dict[str, str]) -> float:
    """The message under way: a WhatsApp call (WHATSAPP_TIMEOUT_S to connect, as long to read,
    not retried: services/notifications/whatsapp.py) or a mail (SMTP_STEPS steps)."""
    from services.kit.mail import DEFAULT_TIMEOUT

    whatsapp = 2 * float(env.get("WHATSAPP_TIMEOUT_S") or WHATSAPP_TIMEOUT_S)
    return max(whatsapp, SMTP_STEPS * DEFAULT_TIMEOUT)


# notifications' default when the setting is not given (DEFAULT_TIMEOUT_S in
# services/notifications/whatsapp.py, which the stack may not import; the tests keep the two equal).
WHATSAPP_TIMEOUT_S = 10.0
STOP_TIMES = {"collector-worker": collector_stop_s, "notifications-sender": sender_stop_s}


def stop_wait_s(name: str, env: dict[str, str]) -> int:
    """The seconds the worker `name` (one copy's name without its number) may need to stop,
    with the environment it runs with; Program's default for a worker that needs no more."""
    if name not in STOP_TIMES:
        return Program.stopwaitsecs
    return max(Program.stopwaitsecs, math.ceil(STOP_TIMES[name](env) + STOP_MARGIN_S))


# Each stand-in's program: the Flask apps gunicorn serves, and the SMTP sink's own command.
STANDIN_APPS = {
    "stripe": "standins.stripe:create_app()",
    "whatsapp": "standins.whatsapp:create_app()",
    "shops": "standins.shops:create_app()",
}
STANDINS = ("stripe", "whatsapp", "smtp", "shops")


def standin_programs(cfg: StackConfig) -> list[Program]:
    """The stand-ins `FEIRA_STANDINS` lists (test infrastructure speaking a third party's
    protocol; standins/__init__.py): each one process, its state being in memory (one gunicorn
    worker for the HTTP ones), on loopback, started before the services and never routed by the
    gateway. Not in `programs`: docker-compose, which runs the product, runs none."""
    common = {
        "SERVICE_HOST": cfg.host,
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": cfg.get("GUNICORN_THREADS", "4"),
        "GUNICORN_GRACEFUL_TIMEOUT": cfg.get("GUNICORN_GRACEFUL_TIMEOUT", "10"),
        "LOG_LEVEL": cfg.get("LOG_LEVEL", "INFO"),
    }
    gunicorn = [str(VENV_BIN / "gunicorn"), "--config", "stack/gunicorn.conf.py"]
    listed = []
    if "stripe" in cfg.standins:
        environment = {
            **common,
            "PORT": cfg.get("STRIPE_STANDIN_PORT", "5090"),
            **cfg.stripe_standin_settings(),
        }
        listed.append(
            Program(
                "stripe-standin",
                [*gunicorn, STANDIN_APPS["stripe"]],
                int(environment["PORT"]),
                environment,
                priority=50,
            )
        )
    if "whatsapp" in cfg.standins:
        environment = {
            **common,
            "PORT": str(cfg.whatsapp_standin_port),
            **cfg.whatsapp_standin_settings(),
        }
        listed.append(
            Program(
                "whatsapp-standin",
                [*gunicorn, STANDIN_APPS["whatsapp"]],
                cfg.whatsapp_standin_port,
                environment,
                priority=50,
            )
        )
    if "smtp" in cfg.standins:
        smtp_port, http_port = cfg.smtp_standin_ports
        listed.append(
            Program(
                "smtp-standin",
                [str(VENV_BIN / "python"), "-m", "standins.smtp"],
                smtp_port,
                {
                    "SERVICE_HOST": cfg.host,
                    "LOG_LEVEL": common["LOG_LEVEL"],
                    "SMTP_STANDIN_PORT": str(smtp_port),
                    "SMTP_STANDIN_HTTP_PORT": str(http_port),
                },
                priority=50,
                http_port=http_port,
            )
        )
    if "shops" in cfg.standins:
        # The fixture shops the collector reads (standins/shops): pages, pictures, robots.txt.
        port = int(cfg.get("SHOPS_STANDIN_PORT", "5092"))
        environment = {
            **common,
            "PORT": str(port),
            "SHOPS_STANDIN_SLOW_S": shops_slow_s(cfg),
        }
        listed.append(
            Program(
                "shops-standin", [*gunicorn, STANDIN_APPS["shops"]], port, environment, priority=50
            )
        )
    return listed


def program_names(cfg: StackConfig) -> list[str]:
    """The names `programs` gives its processes, without building an environment (no secret is
    read or generated): what `make start/stop/restart SERVICE=…` accepts."""
    names = ["postgres", *(f"{name}-standin" for name in STANDINS if name in cfg.standins)]
    copies = range(1, cfg.scale + 1)
    for name in cfg.services:
        service = BY_NAME[name]
        names += [copy_name(name, k, cfg.scale) for k in copies]
        if service.has_relay:
            names += [copy_name(f"{name}-relay", k, cfg.scale) for k in copies]
        for worker in service.workers:
            names += [copy_name(f"{name}-{worker.name}", k, cfg.scale) for k in copies]
    return [*names, "gateway"]


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
            directory=pg.home,
        )
    ]
    for name in cfg.services:
        listed += service_programs(cfg, BY_NAME[name], passwords)
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
    # It holds every process's secrets: never readable by others, not even for an instant.
    replace_file(
        target,
        templates.get_template("supervisord.conf.j2").render(
            root=ROOT,
            run=cfg.run_dir,
            logs=cfg.logs_dir,
            programs=[*programs(cfg, passwords), *standin_programs(cfg)],
            quote=_supervisor_quote,
            command_line=_command_line,
        ),
        0o600,
    )
    return target


def _supervisor_quote(value: str) -> str:
    """supervisord expands %(name)s, so a literal % is doubled; values are double-quoted."""
    return '"' + value.replace("%", "%%").replace('"', '\\"') + '"'


def _command_line(command: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(part) for part in command).replace("%", "%%")


def shops_slow_s(cfg: StackConfig) -> str:
    """How long the fixture shops' slow page takes: unless set, a second past the collector's read
    timeout, so the collector gives up on it on any stack (the Robot suite expects "timed out")."""
    read_timeout = float(cfg.get("COLLECTOR_READ_TIMEOUT_S", "10"))
    return cfg.get("SHOPS_STANDIN_SLOW_S") or str(read_timeout + 1)
