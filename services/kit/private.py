"""Directories at a name anyone on the machine can work out (/dev/shm/feira-verify-<hash>,
/var/tmp/feira-pg-<hash>): made private to this user, never followed or taken over.

In the kit because the PostgreSQL cluster (`services.kit.postgres`) places its data and socket
with it too, and the kit never imports the stack.
"""

from __future__ import annotations

import os
import pwd
from contextlib import suppress
from pathlib import Path


def private_dir(path: Path, owner: tuple[int, int] | None, holds: str) -> None:
    """Make `path` a directory only its user (and `owner`, uid and gid, who is given it) can
    enter, mode 700. A link planted there is not followed, and a directory someone else made, or
    could write in, is refused, never taken over: its maker could have put a file or a link in it
    (a cache entry, a socket of their own). One a previous run made, ours or `owner`'s, is used
    again, even if it let others read and enter it (earlier versions made /var/tmp's 755).
    `holds` says what it is for, in the refusal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.mkdir(path, 0o700)
    given = f" or {pwd.getpwuid(owner[0]).pw_name}" if owner else ""
    refused = SystemExit(
        f"{path} is not a private directory of this user{given} (a link, a file, someone "
        f"else's, or one others can write in): remove it and run again; it holds {holds}"
    )
    try:
        # O_NOFOLLOW: a link is an error; the descriptor is the directory checked, then changed.
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        raise refused from None
    try:
        found = os.fstat(fd)
        ours = {os.geteuid()} | ({owner[0]} if owner else set())
        if found.st_uid not in ours or found.st_mode & 0o022:
            raise refused
        os.fchmod(fd, 0o700)
        if owner:
            os.fchown(fd, *owner)
    finally:
        os.close(fd)
