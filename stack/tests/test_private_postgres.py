"""Where the stack's PostgreSQL goes outside the checkout: /var/tmp/feira-pg-<hash of the run
directory>, a name anyone on the machine can work out, made with `private_dir` and given to the
server account (what a local user planted there is refused: services/kit/tests/test_private.py).
A link at the data and socket directories is refused, never followed (as root we would chown its
target; a socket of theirs would receive every role's password). A checkout deep enough that
`.run/pg/sock/.s.PGSQL.<port>` is over PostgreSQL's 107 bytes gets its socket there instead."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from services.kit.postgres import SOCKET_PATH_MAX, Cluster, server_user, socket_fits, socket_path
from services.kit.testing import free_port
from stack import __main__ as stack_cli
from stack import processes
from stack.config import ROOT, StackConfig, parse_env_file
from stack.tests.conftest import config, owner_and_mode, removing_private_postgres_dirs

AS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not AS_ROOT, reason="only root runs the server as another account")


def server_account() -> tuple[int, int]:
    entry = pwd.getpwnam(server_user()) if AS_ROOT else None
    return (entry.pw_uid, entry.pw_gid) if entry else (os.geteuid(), os.getegid())


@pytest.fixture
def open_dir():
    """A directory the server account can enter, with a short path (tmp_path's is long)."""
    base = Path(tempfile.mkdtemp(prefix="feira-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base)


@pytest.fixture
def closed_checkout(tmp_path, open_dir, monkeypatch) -> StackConfig:
    """A run directory the server account cannot enter (pytest's tmp_path is root's, mode 700),
    its private directory in this test's own stand-in for /var/tmp."""
    place = open_dir / "feira-pg-0123456789ab"
    monkeypatch.setattr(processes, "pg_elsewhere", lambda _cfg: place)
    return config(tmp_path / "checkout" / ".run")


@root_only
def test_a_closed_checkouts_cluster_lives_in_a_private_directory_of_the_server_account(
    closed_checkout,
):
    place = processes.pg_elsewhere(closed_checkout)
    # As an earlier version left it: root's, mode 755.
    place.mkdir()
    place.chmod(0o755)

    pg = processes.cluster(closed_checkout)

    assert pg.datadir == place / "data"
    assert pg.socket_dir == place / "sock"
    assert owner_and_mode(place) == (*server_account(), 0o700)
    assert (closed_checkout.run_dir / "pg").readlink() == place
    assert processes.cluster(closed_checkout) == pg


@pytest.mark.parametrize("planted", ["sock", "data"])
def test_a_link_planted_at_the_socket_or_data_directory_is_refused_and_its_target_left_alone(
    open_dir, planted
):
    home = open_dir / "pg"
    home.mkdir()
    target = open_dir / "elsewhere"
    target.mkdir()
    target.chmod(0o755)
    before = owner_and_mode(target)
    (home / planted).symlink_to(target)
    pg = Cluster(datadir=home / "data", port=free_port(), socket_dir=home / "sock")

    with pytest.raises(SystemExit, match=re.escape(f"{home / planted} is not a private")):
        pg.init()

    assert owner_and_mode(target) == before
    assert not (target / "PG_VERSION").exists()


def test_a_cluster_whose_socket_path_postgres_would_refuse_is_refused_naming_the_limit(
    tmp_path,
):
    deep = tmp_path / ("d" * SOCKET_PATH_MAX)

    with pytest.raises(ValueError, match=rf"{re.escape(str(deep))}.* at most {SOCKET_PATH_MAX}"):
        Cluster(datadir=deep / "data", port=5433, socket_dir=deep / "sock")


@pytest.mark.parametrize("over", [0, 1])
def test_the_stack_moves_the_socket_exactly_when_the_cluster_would_refuse_it(
    open_dir, monkeypatch, over
):
    place = open_dir / "feira-pg-0123456789ab"
    monkeypatch.setattr(processes, "pg_elsewhere", lambda _cfg: place)
    tail = len(os.fsencode(str(open_dir))) + len("/x/.run/pg/sock/.s.PGSQL.5433")
    cfg = config(open_dir / ("x" * (SOCKET_PATH_MAX + over - tail + 1)) / ".run")
    cfg.env["FEIRA_PG_PORT"] = "5433"
    sock = cfg.run_dir / "pg" / "sock"
    assert len(os.fsencode(socket_path(sock, 5433))) == SOCKET_PATH_MAX + over
    assert socket_fits(sock, 5433) == (not over)

    pg = processes.cluster(cfg)

    assert pg.socket_dir == (place / "sock" if over else sock)


@pytest.fixture
def deep_checkout(open_dir):
    """A run directory the server account can reach, deep enough that `.run/pg/sock` would
    make a socket path PostgreSQL refuses."""
    cfg = config(open_dir / ("a-checkout-path-long-enough-" * 3) / ".run")
    assert len(os.fsencode(socket_path(cfg.run_dir / "pg" / "sock", 65535))) > SOCKET_PATH_MAX
    try:
        yield cfg
    finally:
        stack_cli.clean(cfg)


def test_a_deep_checkouts_database_starts_with_its_socket_in_the_private_directory(
    deep_checkout,
):
    cfg = deep_checkout
    pg = processes.cluster(cfg)
    assert pg.datadir == cfg.run_dir / "pg" / "data"
    assert pg.socket_dir == processes.pg_elsewhere(cfg) / "sock"
    assert len(os.fsencode(socket_path(pg.socket_dir, pg.port))) <= SOCKET_PATH_MAX

    pg.init()
    # Where the server account may write it (the checkout's logs are root's).
    pg.start(logfile=processes.pg_elsewhere(cfg) / "postgres.log")
    try:
        pg.wait(timeout=20)
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SHOW unix_socket_directories").fetchone() == (str(pg.socket_dir),)
        assert owner_and_mode(processes.pg_elsewhere(cfg)) == (*server_account(), 0o700)
    finally:
        pg.stop()

    stack_cli.clean(cfg)
    assert not processes.pg_elsewhere(cfg).exists()


def test_the_private_directories_a_test_makes_are_removed_after_it_and_no_other(tmp_path):
    theirs = processes.private_elsewhere(config(tmp_path / "theirs" / ".run"))
    mine = config(tmp_path / "mine" / ".run")

    with removing_private_postgres_dirs() as made:
        processes.private_elsewhere(mine)
        (processes.pg_elsewhere(mine) / "sock").mkdir()
        processes.private_elsewhere(config(tmp_path / "theirs" / ".run"))
        assert made == [processes.pg_elsewhere(mine)]

    assert not os.path.lexists(processes.pg_elsewhere(mine))
    assert theirs.is_dir()


def test_a_link_planted_at_a_removed_private_directory_is_not_followed(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "kept").write_text("")
    cfg = config(tmp_path / "run")

    with removing_private_postgres_dirs():
        place = processes.private_elsewhere(cfg)
        place.rmdir()
        place.symlink_to(target)

    try:
        assert (target / "kept").exists()
    finally:
        place.unlink()


def settings_of(cfg: StackConfig) -> set[str]:
    """The `-c` settings the stack's PostgreSQL is started with."""
    command = processes.cluster(cfg).server_command()
    return {command[i + 1] for i, argument in enumerate(command) if argument == "-c"}


def test_the_dev_stack_waits_for_the_disk_and_the_test_stacks_do_not(tmp_path):
    dev = config(tmp_path / "run")
    with removing_private_postgres_dirs():
        assert "fsync=on" in settings_of(dev)
        assert not {"fsync=off", "synchronous_commit=off"} & settings_of(dev)
        for env_file in ("stack/test.env", "stack/replicas.env"):
            # Its settings, in a run directory of the test's own.
            test = StackConfig(
                {**parse_env_file(ROOT / env_file), "FEIRA_RUN_DIR": str(tmp_path / env_file)}
            )
            assert {"fsync=off", "synchronous_commit=off", "full_page_writes=off"} <= (
                settings_of(test)
            )


def test_a_durability_that_is_not_true_or_false_stops_the_stack_naming_it(tmp_path):
    cfg = config(tmp_path / "run")
    cfg.env["FEIRA_PG_DURABLE"] = "no"
    with pytest.raises(SystemExit, match="FEIRA_PG_DURABLE must be true or false, not 'no'"):
        processes.cluster(cfg)
