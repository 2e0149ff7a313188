"""What the worker saw, written to the monitoring schema, and read back for the dashboard:
results, rollups, uptime over time, latency percentiles, incidents, heartbeats, pruning."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError

from services.kit import Unprocessable

from . import histogram
from .states import DEGRADED

MINUTE, HOUR, DAY = 60, 3600, 86400
RESOLUTIONS = (DAY, HOUR, MINUTE)
# How long each kind of row is kept: the database does not grow without bound.
RETENTION = {
    "results": timedelta(hours=48),
    MINUTE: timedelta(days=8),
    HOUR: timedelta(days=90),
    DAY: timedelta(days=730),
    "incidents": timedelta(days=365),
}
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


# --- what the worker writes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One check and the state it left its target in. `span_s` is the time the check stands for
    (since the one before); `maintenance_s` of it fell in a maintenance window."""

    target: str
    checked_at: datetime
    ok: bool
    latency_ms: float
    state: str
    state_since: datetime
    failures: int
    successes: int
    first_failure_at: datetime | None
    span_s: float
    maintenance_s: float = 0.0
    step: str | None = None
    error: str | None = None
    steps: list[dict] | None = None

    def seconds(self) -> dict[str, float]:
        """The span, split into up, degraded, down and maintenance, by what this check saw."""
        counted = max(0.0, self.span_s - self.maintenance_s)
        split = {"up_s": 0.0, "degraded_s": 0.0, "down_s": 0.0}
        if not self.ok:
            split["down_s"] = counted
        elif self.state == DEGRADED:
            split["degraded_s"] = counted
        else:
            split["up_s"] = counted
        return {**split, "maintenance_s": min(self.span_s, self.maintenance_s)}


@dataclass(frozen=True)
class IncidentOpened:
    key: str
    target: str
    started_at: datetime
    step: str | None
    error: str | None
    root_cause_target: str | None = None
    root_cause_key: str | None = None
    announced: bool = False


@dataclass(frozen=True)
class IncidentLinked:
    key: str
    root_cause_target: str | None
    root_cause_key: str | None


@dataclass(frozen=True)
class IncidentAnnounced:
    """No longer held back as the consequence of another incident: told on its own."""

    key: str


@dataclass(frozen=True)
class IncidentDelivery:
    """What a channel (webhook, email) made of one of the incident's notifications."""

    key: str
    event: str
    channel: str
    outcome: str
    at: datetime


@dataclass(frozen=True)
class IncidentClosed:
    key: str
    ended_at: datetime


Record = (
    Observation
    | IncidentOpened
    | IncidentLinked
    | IncidentAnnounced
    | IncidentDelivery
    | IncidentClosed
)


def bucket(moment: datetime, resolution: int) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % resolution, UTC)


def _ceil(moment: datetime, resolution: int) -> datetime:
    floor = bucket(moment, resolution)
    return floor if floor == moment else floor + timedelta(seconds=resolution)


_INSERT_RESULT = text(
    """
    INSERT INTO monitoring.results
        (target, checked_at, ok, state, latency_ms, step, error, steps)
    VALUES (:target, :checked_at, :ok, :state, :latency_ms, :step, :error,
            CAST(:steps AS jsonb))
    """
)
_UPSERT_ROLLUP = text(
    """
    INSERT INTO monitoring.rollups AS r
        (resolution, target, bucket_start, checks, failures, up_s, degraded_s, down_s,
         maintenance_s, latency_max_ms, histogram)
    VALUES (:resolution, :target, :bucket_start, 1, :failures, :up_s, :degraded_s, :down_s,
            :maintenance_s, :latency_max_ms, :histogram)
    ON CONFLICT (resolution, target, bucket_start) DO UPDATE SET
        checks = r.checks + 1,
        failures = r.failures + excluded.failures,
        up_s = r.up_s + excluded.up_s,
        degraded_s = r.degraded_s + excluded.degraded_s,
        down_s = r.down_s + excluded.down_s,
        maintenance_s = r.maintenance_s + excluded.maintenance_s,
        latency_max_ms = greatest(r.latency_max_ms, excluded.latency_max_ms),
        histogram = ARRAY(
            SELECT a + b FROM unnest(r.histogram, excluded.histogram) WITH ORDINALITY AS h(a, b, i)
            ORDER BY i
        )
    """
)
_UPDATE_TARGET = text(
    """
    UPDATE monitoring.targets SET
        state = :state, state_since = :state_since, failures = :failures,
        successes = :successes, first_failure_at = :first_failure_at,
        last_checked_at = :checked_at, last_ok = :ok, last_latency_ms = :latency_ms,
        last_error = :error, last_step = :step
    WHERE name = :target
    """
)


def save(session, records: list[Record]) -> list[tuple[Record, str]]:
    """Write `records` in one transaction, in order (the worker keeps them all for the next time
    when this raises). Those the database refuses (a constraint, a value it cannot hold: writing
    them again would fail again) are left out, each with why, and the others written, in a
    savepoint each."""
    try:
        for record in records:
            _write(session, record)
        session.commit()
        return []
    except (IntegrityError, DataError):
        session.rollback()
    except Exception:
        session.rollback()
        raise
    refused = []
    try:
        for record in records:
            try:
                with session.begin_nested():
                    _write(session, record)
            except (IntegrityError, DataError) as exc:
                refused.append((record, type(exc.orig).__name__))
        session.commit()
    except Exception:
        session.rollback()
        raise
    return refused


def _write(session, record: Record) -> None:
    if isinstance(record, Observation):
        values = {
            "target": record.target,
            "checked_at": record.checked_at,
            "ok": record.ok,
            "state": record.state,
            "latency_ms": record.latency_ms,
            "step": record.step,
            "error": record.error,
            "steps": json.dumps(record.steps) if record.steps is not None else None,
        }
        session.execute(_INSERT_RESULT, values)
        # Only successes go into the histogram: a timeout is a failure, not a latency.
        counts = histogram.one(record.latency_ms) if record.ok else [0] * histogram.SIZE
        for resolution in RESOLUTIONS:
            session.execute(
                _UPSERT_ROLLUP,
                {
                    "resolution": resolution,
                    "target": record.target,
                    "bucket_start": bucket(record.checked_at, resolution),
                    "failures": 0 if record.ok else 1,
                    "latency_max_ms": record.latency_ms if record.ok else None,
                    "histogram": counts,
                    **record.seconds(),
                },
            )
        session.execute(
            _UPDATE_TARGET,
            {
                **values,
                "state_since": record.state_since,
                "failures": record.failures,
                "successes": record.successes,
                "first_failure_at": record.first_failure_at,
            },
        )
    elif isinstance(record, IncidentOpened):
        session.execute(
            text(
                """
                INSERT INTO monitoring.incidents
                    (key, target, started_at, first_failing_step, error,
                     root_cause_target, root_cause_id, notified)
                VALUES (:key, :target, :started_at, :step, :error, :root_cause_target,
                        (SELECT id FROM monitoring.incidents WHERE key = :root_cause_key),
                        :announced)
                ON CONFLICT (key) DO NOTHING
                """
            ),
            record.__dict__,
        )
    elif isinstance(record, IncidentLinked):
        session.execute(
            text(
                """
                UPDATE monitoring.incidents SET root_cause_target = :root_cause_target,
                    root_cause_id = (SELECT id FROM monitoring.incidents
                                     WHERE key = :root_cause_key)
                WHERE key = :key
                """
            ),
            record.__dict__,
        )
    elif isinstance(record, IncidentAnnounced):
        session.execute(
            text("UPDATE monitoring.incidents SET notified = true WHERE key = :key"),
            {"key": record.key},
        )
    elif isinstance(record, IncidentDelivery):
        entry = {
            "event": record.event,
            "channel": record.channel,
            "outcome": record.outcome,
            "at": record.at.isoformat(),
        }
        session.execute(
            text(
                "UPDATE monitoring.incidents "
                "SET deliveries = deliveries || CAST(:entry AS jsonb) WHERE key = :key"
            ),
            {"key": record.key, "entry": json.dumps([entry])},
        )
    else:
        session.execute(
            text("UPDATE monitoring.incidents SET ended_at = :ended_at WHERE key = :key"),
            {"key": record.key, "ended_at": record.ended_at},
        )


def register_targets(session, targets: list[dict[str, Any]]) -> None:
    """The targets the worker checks now, in order; the others stay for their history, inactive."""
    session.execute(text("UPDATE monitoring.targets SET active = false"))
    for position, target in enumerate(targets):
        session.execute(
            text(
                """
                INSERT INTO monitoring.targets
                    (name, kind, description, interval_s, position, active)
                VALUES (:name, :kind, :description, :interval_s, :position, true)
                ON CONFLICT (name) DO UPDATE SET kind = excluded.kind,
                    description = excluded.description, interval_s = excluded.interval_s,
                    position = excluded.position, active = true
                """
            ),
            {**target, "position": position},
        )
    session.commit()


def close_unconfigured_incidents(
    session, configured: list[str], ended_at: datetime
) -> list[dict[str, Any]]:
    """End the open incidents of targets the worker no longer checks (removed, renamed or
    disabled in targets.yaml): nothing would ever close them. Answers those this call closed,
    with what the worker needs to tell their end; a copy that finds them closed already by
    another gets none, so an end is told once."""
    rows = session.execute(
        text(
            """
            UPDATE monitoring.incidents i SET ended_at = :ended_at
            FROM monitoring.incidents o LEFT JOIN monitoring.incidents r ON r.id = o.root_cause_id
            WHERE i.id = o.id AND i.ended_at IS NULL AND NOT (i.target = ANY(:configured))
            RETURNING i.target, i.key, i.started_at, i.first_failing_step, i.error,
                      i.root_cause_target, r.key AS root_cause_key, i.notified
            """
        ),
        {"configured": configured, "ended_at": ended_at},
    )
    closed = [dict(row._mapping) for row in rows]
    session.commit()
    return closed


def beat(session, worker: str, started_at: datetime, pid: int, targets: int) -> None:
    session.execute(
        text(
            """
            INSERT INTO monitoring.heartbeats (worker, started_at, beat_at, pid, targets)
            VALUES (:worker, :started_at, now(), :pid, :targets)
            ON CONFLICT (worker) DO UPDATE SET started_at = excluded.started_at,
                beat_at = excluded.beat_at, pid = excluded.pid, targets = excluded.targets
            """
        ),
        {"worker": worker, "started_at": started_at, "pid": pid, "targets": targets},
    )
    session.commit()


def prune(session, now: datetime) -> dict[str, int]:
    """Delete what is past its retention; answers how many rows went, per kind."""
    removed = {
        "results": session.execute(
            text("DELETE FROM monitoring.results WHERE checked_at < :before"),
            {"before": now - RETENTION["results"]},
        ).rowcount,
        "incidents": session.execute(
            text("DELETE FROM monitoring.incidents WHERE ended_at < :before"),
            {"before": now - RETENTION["incidents"]},
        ).rowcount,
    }
    for resolution in RESOLUTIONS:
        removed[f"rollups_{resolution}s"] = session.execute(
            text(
                "DELETE FROM monitoring.rollups "
                "WHERE resolution = :resolution AND bucket_start < :before"
            ),
            {"resolution": resolution, "before": now - RETENTION[resolution]},
        ).rowcount
    session.commit()
    return removed


# --- what the dashboard reads -------------------------------------------------------------------


def cover(
    start: datetime, end: datetime, resolutions: tuple[int, ...] = RESOLUTIONS
) -> list[tuple[int, datetime, datetime]]:
    """The fewest whole rollup buckets that tile [start, end): days in the middle, hours and then
    minutes towards the edges. What is left at the edges is shorter than the finest bucket."""
    if start >= end or not resolutions:
        return []
    resolution, finer = resolutions[0], resolutions[1:]
    first, last = _ceil(start, resolution), bucket(end, resolution)
    if first >= last:
        return cover(start, end, finer)
    return [*cover(start, first, finer), (resolution, first, last), *cover(last, end, finer)]


def _where(plan: list[tuple[int, datetime, datetime]]) -> tuple[str, dict[str, Any]]:
    if not plan:
        return "false", {}
    clauses, params = [], {}
    for index, (resolution, start, end) in enumerate(plan):
        clauses.append(
            f"(resolution = :r{index} AND bucket_start >= :s{index} AND bucket_start < :e{index})"
        )
        params.update({f"r{index}": resolution, f"s{index}": start, f"e{index}": end})
    return "(" + " OR ".join(clauses) + ")", params


@dataclass
class Window:
    """A target's figures over one window."""

    checks: int = 0
    failures: int = 0
    up_s: float = 0.0
    degraded_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    latency_max_ms: float | None = None
    counts: list[int] = field(default_factory=lambda: [0] * histogram.SIZE)

    @property
    def uptime(self) -> float | None:
        """Percent of the measured time (maintenance excluded) that the target was available."""
        available = self.up_s + self.degraded_s
        measured = available + self.down_s
        return round(100 * available / measured, 3) if measured else None

    @property
    def observed_s(self) -> float:
        """Seconds of the window the worker saw (maintenance too): the rest it was not running
        (a whole-stack stop), and the uptime says nothing of that time."""
        return round(self.up_s + self.degraded_s + self.down_s + self.maintenance_s, 3)

    def percentile(self, q: float) -> float | None:
        return histogram.percentile(self.counts, q, self.latency_max_ms)


def _kept_since(session) -> dict[int, datetime | None]:
    """The oldest bucket still kept at each resolution (pruning goes by age, for every target)."""
    row = session.execute(
        text(
            """
            SELECT (SELECT min(bucket_start) FROM monitoring.rollups WHERE resolution = :minute),
                   (SELECT min(bucket_start) FROM monitoring.rollups WHERE resolution = :hour),
                   (SELECT min(bucket_start) FROM monitoring.rollups WHERE resolution = :day)
            """
        ),
        {"minute": MINUTE, "hour": HOUR, "day": DAY},
    ).one()
    return dict(zip((MINUTE, HOUR, DAY), row, strict=True))


def _finest_kept(kept: dict[int, datetime | None], moment: datetime) -> int:
    """The finest resolution whose rollups still hold `moment`'s bucket (minutes when none do:
    there is no data there at all)."""
    for resolution in (MINUTE, HOUR, DAY):
        oldest = kept[resolution]
        if oldest is not None and oldest <= bucket(moment, resolution):
            return resolution
    return MINUTE


def windows(
    session,
    start: datetime,
    end: datetime,
    targets: list[str] | None = None,
    *,
    latency: bool = True,
) -> dict[str, Window]:
    """Every target's (or those named) figures over [start, end), from the rollups: whole days,
    hours and minutes tiling it, and at each edge the bucket that overlaps it counted whole, of
    the finest resolution still kept there (a minute for the last 8 days, then an hour, then a
    day). So the bucket that holds `end` (the current minute, when it is now) has the latest
    checks, and a span of old data is not cut to the whole hours inside it."""
    kept = _kept_since(session)
    plan = cover(
        bucket(start, _finest_kept(kept, start)),
        _ceil(end, _finest_kept(kept, end)),
    )
    where, params = _where(plan)
    if targets is not None:
        where += " AND target = ANY(:targets)"
        params["targets"] = targets
    result: dict[str, Window] = {}
    rows = session.execute(
        text(
            f"""
            SELECT target, sum(checks), sum(failures), sum(up_s), sum(degraded_s), sum(down_s),
                   sum(maintenance_s), max(latency_max_ms)
            FROM monitoring.rollups WHERE {where} GROUP BY target
            """  # noqa: S608 (the clauses are built here, the values are bound)
        ),
        params,
    )
    for row in rows:
        result[row[0]] = Window(int(row[1]), int(row[2]), row[3], row[4], row[5], row[6], row[7])
    if latency and result:
        # The same buckets: the fewest that tile the span, minutes only at its edges.
        rows = session.execute(
            text(
                f"""
                SELECT target, h.i, sum(h.c)
                FROM monitoring.rollups, unnest(histogram) WITH ORDINALITY AS h(c, i)
                WHERE {where} GROUP BY target, h.i
                """  # noqa: S608 (the clauses are built here, the values are bound)
            ),
            params,
        )
        for target, index, count in rows:
            if target in result and 0 < index <= histogram.SIZE:
                result[target].counts[index - 1] = int(count)
    return result


def series_resolution(
    start: datetime, end: datetime, asked: int | None = None, *, now: datetime | None = None
) -> int:
    """The resolution of a series over [start, end): `asked`, or by the span's length (a minute
    up to 6 hours, an hour up to 14 days, then a day), never finer than the finest still kept at
    `start` (RETENTION: a minute's rollups 8 days, an hour's 90): older points are only in
    coarser rollups. One asked for that is no longer kept there would be an empty series: a 422.
    """
    now = now or datetime.now(UTC)
    finest = next((r for r in (MINUTE, HOUR) if bucket(start, r) >= now - RETENTION[r]), DAY)
    if asked is not None:
        if asked < finest:
            raise Unprocessable(
                {
                    "resolution": [
                        "Not kept as far back as `from`: points per minute are kept "
                        f"{RETENTION[MINUTE].days} days, per hour {RETENTION[HOUR].days} days. "
                        "Ask for a coarser one, or leave it out for the finest still kept."
                    ]
                }
            )
        return asked
    span = end - start
    if span <= timedelta(hours=6):
        by_span = MINUTE
    elif span <= timedelta(days=14):
        by_span = HOUR
    else:
        by_span = DAY
    return max(by_span, finest)


def series(
    session, target: str, start: datetime, end: datetime, resolution: int | None = None
) -> list[dict[str, Any]]:
    """One point per bucket of `target` in [start, end): checks, uptime and p50/p95."""
    resolution = resolution or series_resolution(start, end)
    rows = session.execute(
        text(
            """
            SELECT bucket_start, checks, failures, up_s, degraded_s, down_s, maintenance_s,
                   latency_max_ms, histogram
            FROM monitoring.rollups
            WHERE resolution = :resolution AND target = :target
              AND bucket_start >= :start AND bucket_start < :end
            ORDER BY bucket_start
            """
        ),
        {
            "resolution": resolution,
            "target": target,
            "start": bucket(start, resolution),
            "end": end,
        },
    )
    points = []
    for row in rows:
        window = Window(row[1], row[2], row[3], row[4], row[5], row[6], row[7], list(row[8]))
        points.append(
            {
                "at": row[0],
                "checks": window.checks,
                "failures": window.failures,
                "uptime": window.uptime,
                "p50": window.percentile(0.50),
                "p95": window.percentile(0.95),
            }
        )
    return points


def hourly_latency(session, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every target's p50/p95 per hour over [start, end), for the dashboard's charts."""
    rows = session.execute(
        text(
            """
            SELECT target, bucket_start, latency_max_ms, histogram FROM monitoring.rollups
            WHERE resolution = :hour AND bucket_start >= :start AND bucket_start < :end
            ORDER BY target, bucket_start
            """
        ),
        {"hour": HOUR, "start": bucket(start, HOUR), "end": end},
    )
    charts: dict[str, list[dict[str, Any]]] = {}
    for target, at, latency_max, counts in rows:
        charts.setdefault(target, []).append(
            {
                "at": at,
                "p50": histogram.percentile(counts, 0.50, latency_max),
                "p95": histogram.percentile(counts, 0.95, latency_max),
            }
        )
    return charts


def targets(session) -> list[dict[str, Any]]:
    rows = session.execute(
        text("SELECT * FROM monitoring.targets WHERE active ORDER BY position, name")
    )
    return [dict(row._mapping) for row in rows]


def heartbeat(session) -> dict[str, Any] | None:
    row = session.execute(
        text("SELECT * FROM monitoring.heartbeats ORDER BY beat_at DESC LIMIT 1")
    ).first()
    return dict(row._mapping) if row else None


_INCIDENT_COLUMNS = """
    i.id, i.target, i.started_at, i.ended_at, i.first_failing_step, i.error,
    i.root_cause_target, i.root_cause_id, i.notified, i.deliveries
"""


def incidents(
    session,
    *,
    state: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Incidents, the latest first, and how many match."""
    clauses, params = ["true"], {"limit": limit, "offset": offset}
    if state:
        clauses.append("i.ended_at IS NULL" if state == "open" else "i.ended_at IS NOT NULL")
    if target:
        clauses.append("i.target = :target")
        params["target"] = target
    if since:
        clauses.append("(i.ended_at IS NULL OR i.ended_at >= :since)")
        params["since"] = since
    where = " AND ".join(clauses)
    total = session.execute(
        text(f"SELECT count(*) FROM monitoring.incidents i WHERE {where}"),  # noqa: S608
        params,
    ).scalar_one()
    rows = session.execute(
        text(
            f"SELECT {_INCIDENT_COLUMNS} FROM monitoring.incidents i WHERE {where} "  # noqa: S608
            "ORDER BY i.started_at DESC, i.id DESC LIMIT :limit OFFSET :offset"
        ),
        params,
    )
    return [dict(row._mapping) for row in rows], total


def load_states(session) -> dict[str, dict[str, Any]]:
    """What the worker needs to carry on where it stopped: each target's state and open incident."""
    states = {
        row.name: dict(row._mapping)
        for row in session.execute(text("SELECT * FROM monitoring.targets"))
    }
    for row in session.execute(
        text(
            """
            SELECT i.target, i.key, i.started_at, i.first_failing_step, i.error,
                   i.root_cause_target, r.key AS root_cause_key, i.notified
            FROM monitoring.incidents i LEFT JOIN monitoring.incidents r ON r.id = i.root_cause_id
            WHERE i.ended_at IS NULL
            """
        )
    ):
        if row.target in states:
            states[row.target]["incident"] = dict(row._mapping)
    return states
