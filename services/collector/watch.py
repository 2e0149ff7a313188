"""Is each source healthy: its last run succeeded, and a run has ended since the second fire time
of its schedule after that one (one missed fire time is tolerated). Read by `/metrics` and by the
monitoring worker (`/health/sources`, on the service's own port: the gateway never routes it), as is
the queue of runs (`/health/queue`: red while a run waits longer than BACKLOG_LATE_AFTER_S)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from services.kit import Unavailable, utcnow
from services.kit.backlog import Backlog, Lag, append_to_metrics, watch_backlog

from .cron import cron_trigger
from .models import ENDED, FINISHED, Run, Source, db

# How long after a fire time its run may take to end, at least: the last run's own time from
# being queued to its end counts instead when longer (a big shop, a busy worker).
GRACE = timedelta(minutes=15)


@dataclass
class Health:
    source: Source
    last: Run | None
    ok: bool
    reason: str


def late_after(source: Source, last: Run) -> datetime | None:
    """When the source is late, its last run being `last`: the grace past the second fire time
    after that run ended (or after the schedule was set, when later). Whatever the gaps between
    fire times (office hours on weekdays, twice a night), one missed is tolerated; None when the
    schedule does not fire twice more."""
    trigger = cron_trigger(source.schedule)
    first = trigger.get_next_fire_time(None, max(last.finished_at, source.schedule_set_at))
    second = first and trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    if second is None:
        return None
    return second + max(GRACE, last.finished_at - last.queued_at)


def health_of(source: Source, last: Run | None, now: datetime) -> Health:
    if last is None or last.status not in FINISHED:
        # Never run, running now, or stopped by an admin (which says nothing of the shop):
        # judged by the run before it that ended on its own, once there is one.
        finished = db.session.scalar(
            select(Run)
            .where(Run.source_id == source.id, Run.status.in_(FINISHED))
            .order_by(Run.id.desc())
            .limit(1)
        )
        if finished is None:
            return Health(source, last, True, "not run yet")
        last = finished
    if last.status != "succeeded":
        return Health(source, last, False, f"last run {last.id} {last.status}: {last.error or ''}")
    if source.schedule:
        try:
            late = late_after(source, last)
        except ValueError as unreadable:
            # Stored before a rule it breaks (the API refuses it now): said, not a 500 for
            # every source's health and metrics.
            return Health(source, last, False, f"its schedule cannot be read: {unreadable}")
        if late is not None and now > late:
            ended = f"{last.finished_at:%Y-%m-%d %H:%M} UTC"
            reason = f"two fire times passed since run {last.id} ended ({ended})"
            return Health(source, last, False, reason)
    return Health(source, last, True, "ok")


def all_health() -> list[Health]:
    now = utcnow()
    result = []
    for source in db.session.scalars(select(Source).where(Source.active.is_(True))):
        last = db.session.scalar(
            select(Run).where(Run.source_id == source.id).order_by(Run.id.desc()).limit(1)
        )
        result.append(health_of(source, last, now))
    return result


bp = Blueprint("collector_watch", __name__)


@bp.get("/health/sources")
def sources_health():
    """Every active source's health; 503 naming those that are not healthy."""
    healths = all_health()
    sources = [
        {"id": h.source.id, "name": h.source.name, "ok": h.ok, "reason": h.reason} for h in healths
    ]
    failing = [h for h in healths if not h.ok]
    if failing:
        # The detail is what an incident says: the names first, each reason after.
        named = "; ".join(f"{h.source.name} ({h.reason})" for h in failing)
        raise Unavailable(f"{len(failing)} failing: {named}", extra={"sources": sources})
    return {"status": "ok", "sources": sources}


@bp.get("/health/sources/<int:source_id>")
def source_health(source_id: int):
    """One active source's health (200 or 503; 404 when unknown or inactive)."""
    for h in all_health():
        if h.source.id == source_id:
            body = {"id": h.source.id, "name": h.source.name, "ok": h.ok, "reason": h.reason}
            return body, 200 if h.ok else 503
    return {"status": 404, "title": "Not Found"}, 404


class RunsCollector:
    """Runs as metrics, read from the database at each scrape (the worker is another process)."""

    def collect(self):
        runs = CounterMetricFamily(
            "feira_collector_runs",
            "Ended runs per source and status (cancelled: stopped by an admin)",
            labels=["source", "status"],
        )
        healthy = GaugeMetricFamily(
            "feira_collector_source_healthy",
            "1 when the source's last run succeeded in time",
            labels=["source"],
        )
        last_finished = GaugeMetricFamily(
            "feira_collector_last_run_finished_seconds",
            "When the source's last run ended (Unix time)",
            labels=["source"],
        )
        products = GaugeMetricFamily(
            "feira_collector_last_run_products",
            "Products of the source's last finished run, by outcome",
            labels=["source", "outcome"],
        )
        names = dict(db.session.execute(select(Source.id, Source.name)).all())
        from .sources import runs_by_status

        for (source_id, status), count in runs_by_status().items():
            if status in ENDED and source_id in names:
                runs.add_metric([names[source_id], status], count)
        for h in all_health():
            healthy.add_metric([h.source.name], 1 if h.ok else 0)
            if h.last is not None and h.last.finished_at:
                last_finished.add_metric([h.source.name], h.last.finished_at.timestamp())
                for outcome in ("created", "updated", "unchanged"):
                    products.add_metric([h.source.name, outcome], getattr(h.last, outcome))
                products.add_metric([h.source.name, "rejected"], h.last.rejected_count)
        db.session.remove()
        yield from (runs, healthy, last_finished, products)


def queue_lag() -> dict[str, Lag]:
    """The queue as `/health/queue` reads it: runs queued, and how long the oldest has waited
    (long, the worker is not taking runs, or long runs hold every slot it has)."""
    queued, oldest = db.session.execute(
        select(
            func.count(),
            func.extract("epoch", func.clock_timestamp() - func.min(Run.queued_at)),
        ).where(Run.status == "queued")
    ).one()
    return {"queued": Lag(queued, max(0.0, float(oldest or 0)))}


def add_run_metrics(app) -> None:
    """The runs' metrics on the kit's `/metrics`, and the queue's health and gauges."""
    append_to_metrics(app, RunsCollector())
    watch_backlog(
        app,
        Backlog(
            "/health/queue",
            queue_lag,
            metric="feira_collector_queued",
            pending_metric="feira_collector_runs_queued",
            late_because="A run has been queued",
        ),
    )
