"""The steps docker-compose runs besides the services: `python -m stack.compose STEP`.

Each step is the container's counterpart of a part of `make up` and reuses its code. Settings come
from the container's environment, which docker-compose.yml sets; no env file is read.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from .config import ROOT, StackConfig

# The database superuser arrives as libpq's PG* variables, and no service process inherits them.
SUPERUSER_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")


def container_config() -> StackConfig:
    return StackConfig(dict(os.environ))


def keys() -> None:
    """The token signing pair, created once into its volumes (only auth mounts the private one)."""
    from .keys import ensure_keypair

    private = Path(os.environ["JWT_PRIVATE_KEY_FILE"])
    public = Path(os.environ["JWT_PUBLIC_KEY_FILE"])
    # Two directories (one volume each): ensure_keypair creates only the private key's.
    public.parent.mkdir(parents=True, exist_ok=True)
    ensure_keypair(private, public)


def migrate(cfg: StackConfig) -> None:
    """Schemas and roles, every service's migrations, then the first admin, as `make up` does."""
    from .postgres import provision

    passwords = {service: os.environ[f"{service.upper()}_DB_PASSWORD"] for service in cfg.apps}
    # The host, the superuser and its password come from the PG* variables.
    provision("dbname=postgres", cfg.database, passwords)
    for service in cfg.apps:
        flask(cfg, service, passwords[service], "db", "upgrade")
    flask(cfg, "auth", passwords["auth"], "ensure-admin")
    flask(cfg, "auth", passwords["auth"], "ensure-user", "--role", "user")


def flask(cfg: StackConfig, service: str, password: str, *args: str) -> None:
    from .processes import flask_command

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SUPERUSER_VARIABLES and not key.endswith("_DB_PASSWORD")
    }
    if service != "auth":
        env.pop("JWT_PRIVATE_KEY_FILE", None)
    host, port = os.environ["PGHOST"], os.environ.get("PGPORT", "5432")
    env["DATABASE_URL"] = f"postgresql+psycopg://{service}:{password}@{host}:{port}/{cfg.database}"
    env["LOG_LEVEL"] = "WARNING"
    subprocess.run(
        flask_command(service, *args),
        check=True,
        env=env,
        cwd=ROOT,
    )


def nginx_command(prefix: Path) -> list[str]:
    """The same nginx invocation as the supervisor's `gateway` program."""
    return ["nginx", "-p", str(prefix), "-c", "nginx.conf", "-g", "daemon off;"]


def render_gateway(cfg: StackConfig) -> Path:
    """nginx.conf from gateway/templates, listening in the container, proxying to the containers."""
    from .gateway import render

    everywhere = "0.0.0.0"  # noqa: S104 (inside its container; compose publishes it on loopback)
    return render(cfg, listen_host=everywhere, upstream_hosts={name: name for name in cfg.apps})


def gateway(cfg: StackConfig) -> None:
    command = nginx_command(render_gateway(cfg).parent)
    os.execvp(command[0], command)  # noqa: S606 (this process becomes nginx)


def probe(url: str) -> None:
    """The compose healthcheck (the image has no curl): exit 0 on a 2xx answer, 1 otherwise.

    It runs every few seconds, so this module imports nothing heavy at the top.
    """
    try:
        with urllib.request.urlopen(url, timeout=3):  # noqa: S310 (the container's own port)
            return
    except (urllib.error.URLError, OSError) as error:
        sys.exit(f"{url}: {error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack.compose")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("keys", "migrate", "gateway"):
        sub.add_parser(name)
    sub.add_parser("probe").add_argument("url")
    args = parser.parse_args(argv)

    if args.command == "keys":
        keys()
    elif args.command == "migrate":
        migrate(container_config())
    elif args.command == "gateway":
        gateway(container_config())
    else:
        probe(args.url)


if __name__ == "__main__":
    main()
