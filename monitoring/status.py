"""What the dashboard, its JSON API, the badges and the metrics show, from the monitoring schema,
or, while that is unreachable, from the worker's snapshot (monitoring.snapshot)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from services.kit.db import ONE_SNAPSHOT

from . import store
from .worker import HEARTBEAT_SECONDS

# The worker beats every HEARTBEAT_SECONDS; three missed beats and the figures are stale.
STALE_AFTER = timedelta(seconds=max(30, 3 * HEARTBEAT_SECONDS))
TIMELINE_DAYS = 30
TIMELINE_LIMIT = 50
T = TypeVar("T")
P = ParamSpec("P")


def incident(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    end = row["ended_at"] or now
    root = row["root_cause_target"]
    return {
        "id": row["id"],
        "target": row["target"],
        "state": "open" if row["ended_at"] is None else "closed",
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "duration_s": round(max(0.0, (end - row["started_at"]).total_seconds()), 3),
        "first_failing_step": row["first_failing_step"],
        "error": row["error"],
        "root_cause": {"id": row["root_cause_id"], "target": root} if root else None,
        "notified": row["notified"],
        "deliveries": [
            {**delivery, "at": datetime.fromisoformat(delivery["at"])}
            for delivery in row["deliveries"]
        ],
    }


def uptimes(
    session, now: datetime
) -> tuple[dict[str, dict], dict[str, dict], dict[str, store.Window]]:
    """Each target's uptime over 24 h, 7 d and 30 d, the seconds of each the worker observed
    (uptime is over those alone), and its 24 h window (for the latency)."""
    figures: dict[str, dict] = {}
    observed: dict[str, dict] = {}
    last_day: dict[str, store.Window] = {}
    for label, span in store.WINDOWS.items():
        found = store.windows(session, now - span, now, latency=label == "24h")
        if label == "24h":
            last_day = found
        for target, window in found.items():
            figures.setdefault(target, {})[label] = window.uptime
            observed.setdefault(target, {})[label] = window.observed_s
    return figures, observed, last_day


def in_one_snapshot(
    read: Callable[Concatenate[Any, P], T],
) -> Callable[Concatenate[Any, P], T]:
    """`read(session, ...)`, made to run in one REPEATABLE READ, READ ONLY transaction of its
    own, so that all its statements (the targets, their uptime, the open incidents, the
    heartbeat) see the database as of the first. Under READ COMMITTED each sees what is
    committed when it runs: the worker's transaction that marks a target down and opens its
    incident, committed between the read of the targets and that of the incidents, showed the
    target down without its incident. A decorator on the reader rather than a wrapper at each
    call, so that no caller can read without it. One reader calls no other: the inner one would
    end the outer's transaction and begin a fresh one (share an undecorated helper instead)."""

    @functools.wraps(read)
    def reading(session, *args: P.args, **kwargs: P.kwargs) -> T:
        # The isolation level is set as a transaction begins: end what this request may have
        # begun (a read-only page has nothing to keep), so that the next statement begins ours.
        session.rollback()
        session.connection(execution_options=ONE_SNAPSHOT)
        try:
            return read(session, *args, **kwargs)
        finally:
            session.rollback()

    return reading


@in_one_snapshot
def summary(session, now: datetime) -> dict[str, Any]:
    """`GET /status/api/summary`: the shape the issue fixes."""
    return _summary(session, now, store.targets(session))


def _summary(session, now: datetime, targets: list[dict]) -> dict[str, Any]:
    """The summary of `targets`, read in the caller's snapshot (the summary's or the page's)."""
    figures, observed, last_day = uptimes(session, now)
    open_incidents, _ = store.incidents(session, state="open", limit=100)
    beat = store.heartbeat(session)
    return {
        "targets": [
            {
                "name": t["name"],
                "kind": t["kind"],
                "state": t["state"],
                "last_checked_at": t["last_checked_at"],
                # A failure's reason, or why a success is not whole (a copy is silent).
                "last_error": t["last_error"],
                "last_step": t["last_step"],
                "uptime": {label: figures.get(t["name"], {}).get(label) for label in store.WINDOWS},
                # Uptime is of the observed time: 100 % of 4 h observed in 24 h says little.
                "observed_s": {
                    label: observed.get(t["name"], {}).get(label, 0.0) for label in store.WINDOWS
                },
                "latency_ms": latency(last_day.get(t["name"])),
            }
            for t in targets
        ],
        "incidents_open": [incident(row, now) for row in open_incidents],
        "worker": {
            "last_heartbeat_at": beat["beat_at"] if beat else None,
            "stale": stale(beat["beat_at"] if beat else None, now),
        },
    }


def latency(window: store.Window | None) -> dict[str, float | None]:
    if window is None:
        return {"p50": None, "p95": None}
    return {"p50": window.percentile(0.50), "p95": window.percentile(0.95)}


def stale(beat_at: datetime | None, now: datetime) -> bool:
    return beat_at is None or now - beat_at > STALE_AFTER


def worker_stale(session, now: datetime) -> bool:
    """Whether the worker's last heartbeat is stale (the page's banner, the badges)."""
    beat = store.heartbeat(session)
    return stale(beat["beat_at"] if beat else None, now)


@in_one_snapshot
def dashboard(session, now: datetime) -> dict[str, Any]:
    """Everything the /status page shows."""
    listed = store.targets(session)
    body = _summary(session, now, listed)
    rows = {t["name"]: t for t in listed}
    charts = store.hourly_latency(session, now - timedelta(hours=24), now)
    timeline, _ = store.incidents(
        session, since=now - timedelta(days=TIMELINE_DAYS), limit=TIMELINE_LIMIT
    )
    beat_at = body["worker"]["last_heartbeat_at"]
    targets = []
    for target in body["targets"]:
        row = rows.get(target["name"], {})
        checked = target["last_checked_at"]
        targets.append(
            {
                **target,
                "description": row.get("description") or "",
                "interval_s": row.get("interval_s"),
                "state_since": row.get("state_since"),
                "age_s": (now - checked).total_seconds() if checked else None,
                "chart": [
                    {"at": p["at"].isoformat(), "p50": p["p50"], "p95": p["p95"]}
                    for p in charts.get(target["name"], [])
                ],
            }
        )
    return {
        "now": now,
        "targets": targets,
        "incidents_open": body["incidents_open"],
        "timeline": [incident(row, now) for row in timeline],
        "heartbeat_at": beat_at,
        "stale": stale(beat_at, now),
        "heartbeat_age_s": (now - beat_at).total_seconds() if beat_at else None,
    }


# --- while the database is unreachable ---------------------------------------------------------


def _snapshot_incident(item: dict[str, Any], now: datetime) -> dict[str, Any]:
    root = item.get("root_cause_target")
    # Not written yet, so it has no id (the document's `id` is optional): the worker writes it
    # when the database is back.
    return {
        "target": item["target"],
        "state": "open",
        "started_at": item["started_at"],
        "ended_at": None,
        "duration_s": round(max(0.0, (now - item["started_at"]).total_seconds()), 3),
        "first_failing_step": item.get("first_failing_step"),
        "error": item.get("error"),
        "root_cause": {"id": None, "target": root} if root else None,
        "notified": item.get("notified", False),
    }


def summary_from_snapshot(
    snapshot: dict[str, Any], now: datetime, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The summary's shape from what the worker last knew; uptime and latency from `last`, the
    last summary read from the database, since only the database holds the history."""
    figures = {t["name"]: t for t in (last or {}).get("targets", [])}
    return {
        "targets": [
            {
                "name": t["name"],
                "kind": t["kind"],
                "state": t["state"],
                "last_checked_at": t["last_checked_at"],
                "last_error": t.get("last_error"),
                "last_step": t.get("last_step"),
                "uptime": figures.get(t["name"], {}).get("uptime") or dict.fromkeys(store.WINDOWS),
                "observed_s": figures.get(t["name"], {}).get("observed_s")
                or dict.fromkeys(store.WINDOWS, 0.0),
                "latency_ms": figures.get(t["name"], {}).get("latency_ms")
                or {"p50": None, "p95": None},
            }
            for t in snapshot["targets"]
        ],
        "incidents_open": [_snapshot_incident(i, now) for i in snapshot["incidents_open"]],
        "worker": {
            "last_heartbeat_at": snapshot["written_at"],
            "stale": stale(snapshot["written_at"], now),
        },
    }


def dashboard_from_snapshot(
    snapshot: dict[str, Any], now: datetime, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The page from what the worker last knew, and the charts and closed incidents of `last`,
    the last page read from the database."""
    body = summary_from_snapshot(snapshot, now, last)
    rows = {t["name"]: t for t in snapshot["targets"]}
    charts = {t["name"]: t.get("chart", []) for t in (last or {}).get("targets", [])}
    closed = [i for i in (last or {}).get("timeline", []) if i["state"] == "closed"]
    beat_at = snapshot["written_at"]
    targets = []
    for target in body["targets"]:
        row = rows[target["name"]]
        checked = target["last_checked_at"]
        targets.append(
            {
                **target,
                "description": row.get("description") or "",
                "interval_s": row.get("interval_s"),
                "state_since": row.get("state_since"),
                "age_s": (now - checked).total_seconds() if checked else None,
                "chart": charts.get(target["name"], []),
            }
        )
    return {
        "now": now,
        "targets": targets,
        "incidents_open": body["incidents_open"],
        "timeline": body["incidents_open"] + closed,
        "heartbeat_at": beat_at,
        "stale": stale(beat_at, now),
        "heartbeat_age_s": (now - beat_at).total_seconds(),
        "database_unreachable": True,
    }
