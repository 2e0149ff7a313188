"""A checkout the PostgreSQL server account cannot enter (root's mode-700 home, `mktemp -d`) still
gets a running stack database: supervisord starts the server where that account can go."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from stack import __main__ as stack_cli
from stack import processes
from stack.config import ROOT
from stack.postgres import reachable_by, server_user
from stack.tests.conftest import config

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root runs the server as another account"
)


@pytest.fixture
def closed_checkout():
    """A run directory inside a mode-700 directory, as `mktemp -d` makes it."""
    closed = Path(tempfile.mkdtemp(prefix="feira-closed-"))
    assert closed.stat().st_mode & 0o777 == 0o700
    cfg = config(closed / "run")
    try:
        yield closed, cfg
    finally:
        stack_cli.clean(cfg)
        closed.rmdir()


def test_the_stack_database_starts_from_a_checkout_the_server_account_cannot_enter(
    closed_checkout, monkeypatch
):
    checkout, cfg = closed_checkout
    assert not reachable_by(server_user(), checkout)
    cfg.logs_dir.mkdir(parents=True)
    pg = processes.cluster(cfg)
    pg.init()
    # Only the database: the services would need it provisioned, which is not in question here.
    every = processes.programs
    monkeypatch.setattr(
        processes, "programs", lambda *a: [p for p in every(*a) if p.name == "postgres"]
    )
    conf = processes.render_supervisor(cfg, cfg.db_passwords())
    # Programs run from the checkout unless told otherwise: pretend it is the closed directory.
    conf.write_text(conf.read_text().replace(f"directory={ROOT}\n", f"directory={checkout}\n"))
    subprocess.run(
        [str(processes.VENV_BIN / "supervisord"), "-c", str(cfg.run_dir / "supervisord.conf")],
        check=True,
        cwd=ROOT,
    )

    pg.wait(timeout=20)

    with psycopg.connect(pg.dsn) as conn:
        assert conn.execute("SELECT current_setting('port')").fetchone() == (str(cfg.pg_port),)
