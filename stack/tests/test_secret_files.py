"""The stack's files of secrets (`secrets.env`, `supervisord.conf`) are never readable by others,
not even between being written and being made private: another account on the machine polling
the run directory would catch them there."""

from __future__ import annotations

import os
import stat

import pytest

from stack.config import ROOT, StackConfig, parse_env_file
from stack.processes import render_supervisor

EXAMPLE = parse_env_file(ROOT / ".env.example")


@pytest.fixture
def exposed(tmp_path, monkeypatch):
    """Every moment a file of the run directory holds text readable by group or others, as seen
    at each chmod and rename (where a file is made private, or put in place), under umask 0."""
    seen = []

    def look():
        for path in tmp_path.rglob("*"):
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode) and path.stat().st_size and stat.S_IMODE(mode) & 0o077:
                seen.append((path.name, oct(stat.S_IMODE(mode))))

    def watched(call):
        def run(*args, **kwargs):
            look()
            return call(*args, **kwargs)

        return run

    monkeypatch.setattr(os, "chmod", watched(os.chmod))
    monkeypatch.setattr(os, "replace", watched(os.replace))
    previous = os.umask(0)
    yield seen
    os.umask(previous)


def test_secrets_env_is_never_readable_by_others_while_it_is_written(tmp_path, exposed):
    cfg = StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path)})
    cfg.secrets()
    assert (tmp_path / "secrets.env").stat().st_size
    assert exposed == []
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600


def test_supervisord_conf_is_never_readable_by_others_while_it_is_written(tmp_path, exposed):
    cfg = StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path)})
    target = render_supervisor(cfg, cfg.db_passwords())
    assert target.stat().st_size
    assert [name for name, _ in exposed if name != "secrets.env"] == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
