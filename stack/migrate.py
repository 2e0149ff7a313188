"""`make up`'s schema step in one process: every service's migrations, then auth's first admin and
the monitoring account (`python -m stack.migrate`, with the stack's FEIRA_ENV_FILE).

It was a `flask` process per step, twelve in all, and each paid Python's imports and its app's
making again: about 2.5 s of CPU each on the 2-core machine, most of a stack start's schema step,
twice in every `make test`. Here each app is made in turn with the environment its process gets
(`service_environment`), so each migrates as its own role, exactly as `flask db upgrade` would.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from flask_migrate import upgrade

from .config import StackConfig
from .processes import app_module, service_environment


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ with `values` added while the block runs (apps read their settings from it)."""
    before = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def settings_of(cfg: StackConfig, service: str, passwords: dict[str, str]) -> dict[str, str]:
    """The environment the service's own process gets, but its metrics folder: prometheus_client
    picks that once per process, so every app here would write into the first one's, where the
    files would outlive this process."""
    settings = service_environment(cfg, service, passwords)
    settings.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return settings


def made(service: str) -> Flask:
    return importlib.import_module(app_module(service)).create_app()


def run_command(app: Flask, name: str, *args: str) -> None:
    """One of the app's CLI commands, as `flask <name> <args>` runs it: a usage error is said
    and ends this process with its exit status (2)."""
    command = app.cli.get_command(click.Context(app.cli), name)
    with app.app_context():
        try:
            command.main(args=list(args), prog_name=f"flask {name}", standalone_mode=False)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)


def main() -> None:
    cfg = StackConfig.load()
    passwords = cfg.db_passwords()
    quiet = {"LOG_LEVEL": "WARNING"}
    for service in cfg.apps:
        with environment({**settings_of(cfg, service, passwords), **quiet}):
            app = made(service)
            with app.app_context():
                try:
                    upgrade()
                except Exception:
                    print(f"==> {service}: its migrations failed", file=sys.stderr)
                    raise
    accounts = {
        "FEIRA_ADMIN_EMAIL": cfg.get("FEIRA_ADMIN_EMAIL"),
        "FEIRA_ADMIN_PASSWORD": cfg.get("FEIRA_ADMIN_PASSWORD"),
        **cfg.monitor_account(),
    }
    with environment({**settings_of(cfg, "auth", passwords), **quiet, **accounts}):
        auth = made("auth")
        print("==> ensuring the first admin", flush=True)
        run_command(auth, "ensure-admin")
        print("==> ensuring the monitoring account (a plain user)", flush=True)
        run_command(auth, "ensure-user", "--role", "user")


if __name__ == "__main__":
    main()
