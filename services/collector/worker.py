"""The collector's worker: queues the runs sources' schedules call for, takes queued runs and
carries them out, and fails the runs of a worker that died.

- Taking a run: the oldest queued run is locked `FOR UPDATE SKIP LOCKED` (two workers never take
  the same one) and, before it is marked `running`, the taker holds a session advisory lock
  (17017, run id) on a connection of its own for the whole run. That lock dies with the process,
  so a `running` run whose lock anyone can take belongs to a worker that is gone: it is marked
  `failed` ("the worker stopped", or `cancelled` when an admin had asked it to stop) and its
  source may run again.
- Cancelling (sources.cancel_run): the claim's row lock and the cancel's exclude each other, so
  a queued run the API cancelled is never taken; a running run asked to stop ends `cancelled`
  before its next page (collecting.collect), also when the worker is stopping then.
- Scheduling: each active source with a cron `schedule` (UTC) gets a queued run for the latest
  fire time that has passed since its last scheduled run (missed fire times are not made up one
  by one); the unique (source_id, scheduled_for) index makes that one run per fire time whatever
  the number of workers, and the one-active-run index skips a fire time while a run is going.
- Every finished run emits `collector.run.finished` in the transaction that records its end.
- Stopping (SIGTERM, a rollout): no run is taken any more, and a run under way goes back to the
  queue before its next request (a pause between two requests is cut short: when the site may be
  asked again is kept in the database, collecting.SharedPacer), for another worker to carry out
  whole; the process exits once they are back, within the grace period (a request under way
  ends within COLLECTOR_TOTAL_TIMEOUT_S), and no run is left to fail as a dead worker's.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from services.kit import utcnow

from .collecting import collect, stopped_by
from .cron import cron_trigger
from .models import Run, Source, db, outbox

log = logging.getLogger("feira.collector")

LOCK_CLASS = 17017


def finished_event(run: Run, source: Source | None) -> dict:
    return {
        "run_id": run.id,
        "source_id": run.source_id,
        "source_name": source.name if source else None,
        "status": run.status,
        "error": run.error,
        "pages_fetched": run.pages_fetched,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "rejected": run.rejected_count,
    }


def finish(run: Run) -> None:
    """Emit the run's end with it; the caller commits."""
    outbox.emit(
        "collector.run.finished", finished_event(run, db.session.get(Source, run.source_id))
    )


def broke(exc: Exception) -> str:
    """Why the run failed, for the admin: the error's kind and first line (a database error's own
    message, without its SQL)."""
    cause = getattr(exc, "orig", None) or exc
    message = str(cause).strip().split("\n", 1)[0]
    return f"the collector broke: {type(cause).__name__}: {message}"[:500]


def take_and_run(stopping: threading.Event | None = None) -> bool:
    """Take the oldest queued run and carry it out, or give it back to the queue when `stopping`
    is set before it ends; False when none is queued, or the worker is stopping."""
    if stopping is not None and stopping.is_set():
        return False
    holder = db.engine.connect()
    try:
        run = db.session.scalar(
            select(Run)
            .where(Run.status == "queued")
            .order_by(Run.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if run is None:
            db.session.rollback()
            return False
        run_id = run.id
        holder.execute(text("SELECT pg_advisory_lock(:c, :r)"), {"c": LOCK_CLASS, "r": run_id})
        holder.commit()
        run.status, run.started_at = "running", utcnow()
        db.session.commit()
        log.info("run %s of source %s started", run_id, run.source_id)
        try:
            collect(run, stopping)
        except Exception as exc:
            # The session may be failed and the run's attributes expired: roll back before
            # anything else, and read the run again.
            db.session.rollback()
            log.exception("run %s broke", run_id)
            run = db.session.get(Run, run_id)
            run.status, run.error, run.finished_at = "failed", broke(exc), utcnow()
        if run.status == "queued":
            db.session.commit()
            log.info("run %s given back to the queue: the worker is stopping", run_id)
            return True
        finish(run)
        db.session.commit()
        log.info("run %s ended %s", run_id, run.status)
        return True
    finally:
        try:
            holder.execute(text("SELECT pg_advisory_unlock_all()"))
            holder.commit()
        finally:
            holder.close()


def recover() -> int:
    """Fail the running runs whose worker is gone (nobody holds their advisory lock); one an
    admin had asked to stop ends `cancelled`, as its worker would have ended it. The count of
    runs ended."""
    failed = 0
    runs = db.session.scalars(
        select(Run).where(Run.status == "running").with_for_update(skip_locked=True)
    ).all()
    connection = db.session.connection()
    for run in runs:
        free = connection.execute(
            text("SELECT pg_try_advisory_lock(:c, :r)"), {"c": LOCK_CLASS, "r": run.id}
        ).scalar()
        if not free:
            continue
        connection.execute(
            text("SELECT pg_advisory_unlock(:c, :r)"), {"c": LOCK_CLASS, "r": run.id}
        )
        run.finished_at = utcnow()
        if run.cancel_requested_at is None:
            run.status, run.error = "failed", "the worker stopped during the run"
        else:
            # Asked to stop, and stopped: as its worker would have ended it.
            run.status, run.error = "cancelled", stopped_by(run)
        finish(run)
        failed += 1
    db.session.commit()
    return failed


def latest_fire_time(schedule: str, since: datetime, now: datetime) -> datetime | None:
    """The latest fire time in (since, now], or None.

    Searched back from now, not walked forward from `since`: windows that double until one holds
    a fire time (a night, a weekend or a month without one costs a step each time it doubles),
    then halved down to the second. A pause of any length costs about fifty look-ups."""
    trigger = cron_trigger(schedule)

    def fires_from(moment: datetime) -> bool:
        """Whether a fire time comes at or after `moment` and by `now`."""
        fire = trigger.get_next_fire_time(None, moment)
        return fire is not None and fire <= now

    # Known to fire from `low` and not from `high`: the latest fire time is in [low, high).
    low, high = since + timedelta(seconds=1), now + timedelta(seconds=1)
    if not fires_from(low):
        return None
    window = timedelta(minutes=1)
    while now - window > low:
        if fires_from(now - window):
            low = now - window
            break
        high = now - window
        window *= 2
    # Fire times are whole seconds: within a second of `high`, the first from `low` is the one.
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if fires_from(middle):
            low = middle
        else:
            high = middle
    return trigger.get_next_fire_time(None, low)


def schedule_due(now: datetime | None = None) -> int:
    """Queue one run per source whose schedule has fired since its last scheduled run and since
    it was set: a schedule given to an existing source, or changed, first fires at its next time,
    not at one from before (today's 03:00 when "0 3 * * *" is set at 14:00)."""
    now = now or utcnow()
    last = (
        select(Run.source_id, func.max(Run.scheduled_for).label("at"))
        .group_by(Run.source_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Source.id, Source.schedule, Source.schedule_set_at, last.c.at)
        .outerjoin(last, last.c.source_id == Source.id)
        .where(Source.active.is_(True), Source.schedule.is_not(None))
    ).all()
    queued = 0
    for source_id, schedule, set_at, last_at in rows:
        since = max(last_at, set_at) if last_at else set_at
        try:
            fire = latest_fire_time(schedule, since, now)
        except ValueError:
            log.warning("source %s has a schedule that cannot be read", source_id)
            continue
        if fire is None:
            continue
        inserted = db.session.execute(
            insert(Run)
            .values(source_id=source_id, status="queued", scheduled_for=fire)
            .on_conflict_do_nothing()
            .returning(Run.id)
        ).first()
        queued += inserted is not None
    db.session.commit()
    return queued


def drain(stopping: threading.Event) -> None:
    """Take queued runs one after another until none is left or the worker is stopping."""
    while take_and_run(stopping):
        db.session.remove()


def run_worker() -> None:
    """Forever: schedule, recover and take runs (COLLECTOR_CONCURRENCY at a time)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    app = current_app._get_current_object()
    config = app.config
    concurrency = config["COLLECTOR_CONCURRENCY"]
    stopping = threading.Event()

    def in_app(task, *args):
        def job():
            with app.app_context():
                try:
                    task(*args)
                except Exception:
                    log.exception("the collector worker's %s failed", task.__name__)
                finally:
                    db.session.remove()

        job.__name__ = task.__name__
        return job

    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=concurrency + 2)},
        job_defaults={"coalesce": True, "misfire_grace_time": 30},
    )
    poll = config["COLLECTOR_POLL_S"]
    now = datetime.now(UTC)
    scheduler.add_job(
        in_app(drain, stopping),
        IntervalTrigger(seconds=poll),
        id="runs",
        max_instances=concurrency,
        next_run_time=now,
    )
    scheduler.add_job(
        in_app(schedule_due), IntervalTrigger(seconds=15), id="schedule", next_run_time=now
    )
    scheduler.add_job(in_app(recover), IntervalTrigger(seconds=30), id="recover", next_run_time=now)

    def shut_down(signum, frame):
        # The scheduler starts no job any more; the runs under way see `stopping` and go back to
        # the queue before their next request (a pause cut short), and the interpreter's exit
        # waits for their threads.
        stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    log.info("collector worker started (%s runs at a time)", concurrency)
    scheduler.start()
    log.info(
        "collector worker stopping: runs under way go back to the queue before their next request"
    )
