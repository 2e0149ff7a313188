"""The gateway's verify cache directory sits at a name anyone on the machine can work out
(/dev/shm/feira-verify-<hash of the run directory>): render makes it with `private_dir`, given to
nginx's workers (what a local user planted there is refused: services/kit/tests/test_private.py),
and `down` removes it, never through a link planted there."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from stack import __main__ as stack_main
from stack import gateway
from stack.config import StackConfig
from stack.tests.conftest import owner_and_mode

from .test_gateway import EXAMPLE

# As root, nginx's workers drop to nobody, and the cache is theirs (gateway.worker_user).
AS_ROOT = os.geteuid() == 0
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def cfg(tmp_path) -> StackConfig:
    return StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path), "OUTBOX_SECRET": "x"})


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """Where render makes the verify cache, as root with workers that run as nobody."""
    path = tmp_path / "shm" / "feira-verify-0123456789ab"
    path.parent.mkdir()
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda _cfg: path)
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    monkeypatch.setattr(gateway, "worker_user", lambda _cfg: "nobody nogroup" if AS_ROOT else "")
    return path


def test_the_verify_cache_is_private_to_nginxs_workers_and_a_second_render_uses_it_again(
    cfg, cache_dir
):
    workers = (NOBODY.pw_uid, NOBODY.pw_gid) if AS_ROOT else (os.geteuid(), os.getegid())

    gateway.render(cfg)
    assert owner_and_mode(cache_dir) == (*workers, 0o700)
    (cache_dir / "entry").write_text("kept")

    gateway.render(cfg)
    assert owner_and_mode(cache_dir) == (*workers, 0o700)
    assert (cache_dir / "entry").read_text() == "kept"


def test_down_removes_the_verify_cache_a_removed_checkout_would_leave_in_memory(cfg, cache_dir):
    gateway.private_dir(cache_dir, None, holds="the verify cache")
    (cache_dir / "entry").write_text("a verify answer")

    stack_main.down(cfg)

    assert not cache_dir.exists()


def test_down_leaves_a_link_planted_at_the_verify_cache_path_and_its_target(
    cfg, cache_dir, tmp_path
):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "kept").write_text("not the cache's")
    cache_dir.symlink_to(target)

    stack_main.down(cfg)

    assert (target / "kept").read_text() == "not the cache's"
