"""`private_dir`: a directory at a name anyone on the machine can work out is made private to
this user (and the owner it is given to), and what a local user planted there is refused, never
followed or taken over. The stack's PostgreSQL directory and the gateway's verify cache use it;
their tests pin only the owner each gives it."""

from __future__ import annotations

import os
import pwd
import re
import stat
from pathlib import Path

import pytest

from services.kit.private import private_dir

AS_ROOT = os.geteuid() == 0
NOBODY = pwd.getpwnam("nobody")
root_only = pytest.mark.skipif(not AS_ROOT, reason="only root can give a directory to another user")


def owner_and_mode(path: Path) -> tuple[int, int, int]:
    found = path.lstat()
    return found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)


@pytest.fixture
def place(tmp_path) -> Path:
    return tmp_path / "shared" / "feira-0123456789ab"


def refusal(place: Path) -> str:
    return re.escape(f"{place} is not a private directory") + ".* it holds the things"


def test_a_missing_directory_is_made_private_to_this_user(place):
    private_dir(place, None, holds="the things")

    assert owner_and_mode(place) == (os.geteuid(), os.getegid(), 0o700)


def test_a_directory_a_previous_run_left_open_to_reading_is_used_again_and_closed(place):
    place.parent.mkdir()
    place.mkdir()
    place.chmod(0o755)
    (place / "entry").write_text("kept")

    private_dir(place, None, holds="the things")

    assert stat.S_IMODE(place.lstat().st_mode) == 0o700
    assert (place / "entry").read_text() == "kept"


@root_only
def test_a_directory_given_to_an_owner_is_theirs_and_theirs_is_used_again(place):
    given = (NOBODY.pw_uid, NOBODY.pw_gid)

    private_dir(place, given, holds="the things")
    assert owner_and_mode(place) == (*given, 0o700)

    private_dir(place, given, holds="the things")
    assert owner_and_mode(place) == (*given, 0o700)


@root_only
def test_a_directory_another_user_made_is_refused_and_left_theirs(place):
    # Its maker could have put a file or a link in it.
    place.parent.mkdir()
    place.mkdir(mode=0o700)
    os.chown(place, NOBODY.pw_uid + 1, NOBODY.pw_gid)

    with pytest.raises(SystemExit, match=refusal(place)):
        private_dir(place, (NOBODY.pw_uid, NOBODY.pw_gid), holds="the things")

    assert owner_and_mode(place) == (NOBODY.pw_uid + 1, NOBODY.pw_gid, 0o700)


def test_a_directory_others_can_write_in_is_refused_even_if_it_is_ours(place):
    place.parent.mkdir()
    place.mkdir()
    place.chmod(0o733)

    with pytest.raises(SystemExit, match=refusal(place)):
        private_dir(place, None, holds="the things")

    assert owner_and_mode(place) == (os.geteuid(), os.getegid(), 0o733)


def test_a_link_planted_there_is_refused_and_its_target_left_as_it_was(place, tmp_path):
    target = tmp_path / "etc"
    target.mkdir()
    target.chmod(0o755)
    before = owner_and_mode(target)
    place.parent.mkdir()
    place.symlink_to(target)

    with pytest.raises(SystemExit, match=refusal(place)):
        private_dir(place, None, holds="the things")

    assert owner_and_mode(target) == before
    assert place.is_symlink()


def test_a_file_planted_there_is_refused(place):
    place.parent.mkdir()
    place.write_text("")

    with pytest.raises(SystemExit, match=refusal(place)):
        private_dir(place, None, holds="the things")


@root_only
def test_the_refusal_names_the_owner_the_directory_would_be_given_to(place):
    place.parent.mkdir()
    place.write_text("")

    with pytest.raises(SystemExit, match=re.escape(f"of this user or {NOBODY.pw_name} ")):
        private_dir(place, (NOBODY.pw_uid, NOBODY.pw_gid), holds="the things")
