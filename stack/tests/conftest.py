"""What the stack tests get: the private PostgreSQL directories they make, removed at the end, and
the helpers several test files share."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest

from services.kit.testing import free_port
from stack import processes
from stack.config import ROOT, StackConfig, parse_env_file


def config(run_dir: Path) -> StackConfig:
    """.env.example's settings for a stack in `run_dir`, its PostgreSQL on a free port."""
    return StackConfig(
        {
            **parse_env_file(ROOT / ".env.example"),
            "FEIRA_RUN_DIR": str(run_dir),
            "FEIRA_PG_PORT": str(free_port()),
            "OUTBOX_SECRET": "x",
            # No stand-in: the tests using it are about the database and its directories.
            "FEIRA_STANDINS": "",
        }
    )


def owner_and_mode(path: Path) -> tuple[int, int, int]:
    """Of `path` itself, a link's rather than its target's."""
    found = path.lstat()
    return found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)


@contextmanager
def removing_private_postgres_dirs() -> Iterator[list[Path]]:
    """The private PostgreSQL directories made inside (`processes.private_elsewhere`:
    /var/tmp/feira-pg-<hash of the run directory>), listed, then removed when it ends. As root a
    test's run directory in tmp_path is closed to the server account, so rendering its programs
    makes one, and nothing else would ever remove it. Only one that was not there before is
    removed (another clone's or a running stack's is left alone), and never through a link
    planted there since (rmtree refuses one), as `clean` removes its own."""
    made: list[Path] = []
    real = processes.private_elsewhere

    def recording(cfg: StackConfig, place: Path | None = None) -> Path:
        target = place or processes.pg_elsewhere(cfg)
        existed = os.path.lexists(target)
        try:
            return real(cfg, place)
        finally:
            if not existed and os.path.lexists(target):
                made.append(target)

    try:
        with mock.patch.object(processes, "private_elsewhere", recording):
            yield made
    finally:
        for place in made:
            shutil.rmtree(place, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _private_postgres_dirs_removed() -> Iterator[None]:
    """For the whole session: module fixtures render programs too (test_compose, test_registry)."""
    with removing_private_postgres_dirs():
        yield
