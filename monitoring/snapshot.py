"""What the worker last knew, in a file beside the database: the dashboard's answer while its own
database is unreachable.

The database may be the very thing that is down, and a status page that answers 503 during the
outage it should report is no status page. So the worker, which holds every target's state in
memory whatever the database does, writes it after every check and every heartbeat to
`MONITOR_SNAPSHOT_FILE` (a few kilobytes of JSON: each target's state and last check, the open
incidents, when it was written, and whether the worker could write to the database). It writes
a temporary file in the same directory and renames it over the old one, so a reader sees the old
snapshot or the new one, never half of one. The dashboard reads it only when its own query
fails: the page and `/status/api/summary` then answer 200 with the worker's states and open
incidents (postgres and whatever depends on it down, as the worker saw them), the uptime and
latency figures the dashboard process last read from the database (or none), a banner on the
page, and `X-Status-Source: worker-snapshot` on both. Without the file (the setting unset, or
the worker never ran), the dashboard answers 503 as before. The history is not lost either: the
worker keeps its results and incidents in memory until the database takes them
(monitoring.worker), so the outage appears in the timeline, from its real start, once it is
back.

A file rather than the dashboard's own last good summary because the dashboard cannot tell by
itself which services are down (each gunicorn process would also hold a different, possibly
empty, memory), while the worker keeps checking throughout.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("feira.monitoring.snapshot")

SETTING = "MONITOR_SNAPSHOT_FILE"
SOURCE_HEADER = "X-Status-Source"


def write(path: str | Path, snapshot: dict[str, Any]) -> None:
    """Replace the file at `path` with `snapshot`, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(snapshot, handle, default=_encode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read(path: str | Path | None) -> dict[str, Any] | None:
    """The last snapshot, its times as datetimes; None when there is none or it cannot be read."""
    if not path:
        return None
    try:
        return json.loads(Path(path).read_text(), object_hook=_decode)
    except (OSError, ValueError) as exc:
        log.warning("no worker snapshot to fall back on", extra={"error": type(exc).__name__})
        return None


# Keys whose values are times; everything else is plain JSON.
_TIMES = {"written_at", "state_since", "last_checked_at", "started_at"}


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    for key in _TIMES & set(item):
        if isinstance(item[key], str):
            item[key] = datetime.fromisoformat(item[key])
    return item
