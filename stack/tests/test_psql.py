"""`make psql` (`python -m stack psql`): psql on the stack's own cluster, its socket wherever the
stack put it, its port, its superuser and database, whatever PostgreSQL version is installed and
whoever runs it (root too, the server being the server account's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from services.kit.postgres import SOCKET_PATH_MAX, Cluster, socket_path
from services.kit.testing import DATABASE
from stack import __main__ as stack_cli
from stack import processes
from stack.config import StackConfig
from stack.tests.conftest import config


def test_psql_reaches_the_test_harness_cluster_as_its_superuser_as_whoever_runs_it(database):
    info = psycopg.conninfo.conninfo_to_dict(database.superuser_dsn)
    if not str(info.get("host", "")).startswith("/"):
        pytest.skip("FEIRA_TEST_DATABASE_URL names no socket directory")
    # The harness's cluster, booted as `make up` boots the stack's (as root, by the server
    # account, its socket directory mode 700 and that account's).
    sock = Path(info["host"])
    pg = Cluster(datadir=sock.parent / "data", port=int(info["port"]), socket_dir=sock)

    query = "select current_user, current_database(), current_setting('port')"
    answered = subprocess.run(
        stack_cli.psql_command(pg, DATABASE, ["-X", "-tA", "-c", query]),
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )

    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.strip() == f"feira|{DATABASE}|{pg.port}"


@pytest.fixture
def deep_checkout():
    """A run directory the server account can reach, deep enough that `.run/pg/sock` would make
    a socket path PostgreSQL refuses: the stack's socket goes to /var/tmp."""
    base = Path(tempfile.mkdtemp(prefix="feira-"))
    base.chmod(0o755)
    cfg = config(base / ("a-checkout-path-long-enough-" * 3) / ".run")
    try:
        yield cfg
    finally:
        stack_cli.clean(cfg)
        shutil.rmtree(base)


def run_cli(cfg: StackConfig, monkeypatch, *argv: str) -> list[str]:
    """What `python -m stack` would become (its exec caught)."""
    became: list[list[str]] = []

    def execvp(file: str, args: list[str]) -> None:
        became.append([file, *args[1:]])
        raise SystemExit(0)

    monkeypatch.setattr(StackConfig, "load", classmethod(lambda _cls: cfg))
    monkeypatch.setattr(stack_cli.os, "execvp", execvp)
    with pytest.raises(SystemExit) as stopped:
        stack_cli.main(list(argv))
    assert stopped.value.code == 0
    return became[0]


def test_make_psql_uses_the_stacks_socket_where_it_moved_its_port_superuser_and_database(
    deep_checkout, monkeypatch
):
    cfg = deep_checkout
    cfg.env["FEIRA_DATABASE"] = "feira_elsewhere"
    assert len(os.fsencode(socket_path(cfg.run_dir / "pg" / "sock", cfg.pg_port))) > (
        SOCKET_PATH_MAX
    )
    pg = processes.cluster(cfg)
    # What `make up` leaves: an initialised cluster (only its mark matters here).
    pg.datadir.mkdir(parents=True)
    (pg.datadir / "PG_VERSION").write_text("15\n")

    command = run_cli(cfg, monkeypatch, "psql", "--", "-c", "select 1")

    assert pg.socket_dir == processes.pg_elsewhere(cfg) / "sock"
    assert command == [
        shutil.which("psql") or command[0],
        "-h",
        str(pg.socket_dir),
        "-p",
        str(cfg.pg_port),
        "-U",
        "feira",
        "-d",
        "feira_elsewhere",
        "-c",
        "select 1",
    ]
    assert Path(command[0]).name == "psql" and os.access(command[0], os.X_OK)


def test_make_psql_without_a_stack_database_says_make_up_and_makes_nothing(tmp_path, monkeypatch):
    cfg = config(tmp_path / ".run")
    monkeypatch.setattr(StackConfig, "load", classmethod(lambda _cls: cfg))

    with pytest.raises(SystemExit) as stopped:
        stack_cli.main(["psql"])

    assert stopped.value.code == f"no stack database in {cfg.run_dir}: make up"
    assert not cfg.run_dir.exists()
