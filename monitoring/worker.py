"""The worker: one APScheduler job per target at a fixed rate, the state machine, incidents with
their root cause, and the writes to the monitoring schema, kept in memory while the database is
away (it may be the very thing that is down) and written when it is back."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import requests
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from services.kit.leader import Leadership

from . import checks, snapshot, store
from .config import Config, ConfigError, Target, load, sign_in_variables
from .journey import Journey, StepFailed
from .models import db
from .notify import (
    NO_LONGER_MONITORED,
    PUBLIC_URL_SETTING,
    Notifier,
    email_recipients,
    public_url,
)
from .states import DOWN, TargetState, advance
from .states import Outcome as StateOutcome

log = logging.getLogger("feira.monitoring.worker")

HEARTBEAT_SECONDS = 10
# A follower that could not reach the database asks for the lead only once it has answered this
# long: the leader asks again at least at every heartbeat (it may have kept an outage in memory).
LEAD_GRACE_SECONDS = 2 * HEARTBEAT_SECONDS
PRUNE_SECONDS = 600
# The janitor runs before the journey's first run and then every this many runs.
JANITOR_EVERY = 10
# Records kept in memory while the database is unreachable; the oldest results go first.
MAX_PENDING = 50_000


@dataclass
class OpenIncident:
    key: str
    target: str
    started_at: datetime
    step: str | None
    error: str | None
    root_cause_target: str | None = None
    root_cause_key: str | None = None
    # Told on its own (webhook, e-mail) rather than held back as the consequence of its root
    # cause; what the channels answered is recorded apart (store.IncidentDelivery).
    announced: bool = False

    def describe(self, **extra: Any) -> dict[str, Any]:
        return {
            "key": self.key,
            "target": self.target,
            "started_at": self.started_at,
            "first_failing_step": self.step,
            "error": self.error,
            "root_cause_target": self.root_cause_target,
            "outlived_root_cause": self.outlived_root_cause,
            **extra,
        }

    @property
    def awaiting_cause(self) -> bool:
        """Blamed on a dependency that was failing but has no incident (yet)."""
        return self.root_cause_target is not None and self.root_cause_key is None

    @property
    def held_back(self) -> bool:
        """Linked to its root cause's incident and not announced: told to nobody on its own
        while that is open (_release_outlived)."""
        return self.root_cause_key is not None and not self.announced

    @property
    def outlived_root_cause(self) -> bool:
        """Linked to a root cause that recovered first, and so announced on its own since."""
        return self.root_cause_key is not None and self.announced


@dataclass
class Tracked:
    target: Target
    state: TargetState = field(default_factory=TargetState)
    since: datetime | None = None
    last_checked_at: datetime | None = None
    first_failure_at: datetime | None = None
    incident: OpenIncident | None = None
    runs: int = 0
    last_result: checks.CheckResult | None = None

    @property
    def failing(self) -> bool:
        return self.state.failures > 0 or self.state.state == DOWN

    @property
    def recovering(self) -> bool:
        """Down, but passing again: not up yet."""
        return self.state.state == DOWN and self.state.successes > 0


class Monitor:
    """What the worker knows, in memory, and what it owes the database."""

    def __init__(self, app: Flask, config: Config, notifier: Notifier):
        self.app = app
        self.config = config
        self.notifier = notifier
        self.tracked = {t.name: Tracked(t) for t in config.targets}
        self.sessions = {t.name: requests.Session() for t in config.targets}
        self.started_at = datetime.now(UTC)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: list[store.Record] = []
        self._database_down = False
        self.snapshot_path = app.config.get(snapshot.SETTING)
        # Set by build_scheduler: check() brings a target's next run forward through it.
        self.scheduler = None
        self._snapshot_lock = threading.Lock()
        # With SCALE copies of the worker, the one holding the advisory lock checks, records and
        # notifies; the others wait to take over (kit.leader.Leadership). None: it always leads.
        self.leadership = None
        self._leading = False
        self._leader_lock = threading.Lock()
        # Whether restore() has read the database since this copy took the lead: until then it
        # writes nothing (it checks all the same, from what it sees).
        self._restored = False
        # Incidents this copy opened before reading the database, which turned out to be the
        # same outage as one it held open: their key, and that one's.
        self._renamed: dict[str, str] = {}

    def leads(self) -> bool:
        """Whether this copy checks now. A copy that has just taken the lead first reads the
        states and open incidents the previous leader wrote, so it carries on from them (never
        opening a second incident for an outage the other one had opened); one that has lost it
        forgets what it had not written. One that leads before it could read them (started
        while the database was down) checks from what it sees, and reads them when it holds
        the lock (restore())."""
        if self.leadership is None:
            return True
        with self._leader_lock:
            leading = self.leadership.leading()
            if leading and not self._leading:
                with self._lock:
                    # Only what the database says counts: the previous leader moved on.
                    self.tracked = {n: Tracked(t.target) for n, t in self.tracked.items()}
                    self._pending.clear()
                self._restored = False
                log.info("this worker leads: checking every target")
            elif self._leading and not leading:
                with self._lock:
                    dropped = len(self._pending)
                    self._pending.clear()
                log.warning("another worker leads: this one waits", extra={"dropped": dropped})
            self._leading = leading
            if leading and not self._restored and self.leadership.holding:
                try:
                    self.restore()
                except SQLAlchemyError as exc:
                    log.warning(
                        "leads but cannot read the states yet: checking from what it sees",
                        extra={"error": type(exc).__name__},
                    )
            return leading

    # --- start-up ---

    def restore(self) -> None:
        """Register the configured targets and carry on from the states the database holds. The
        open incidents of targets no longer configured end now (nothing else would end them),
        and those that were announced have their end announced too. Only a copy taking the lead
        does it (leads()): one that starts while another leads, in a rolling update say, changes
        nothing the leader still checks.

        A target this copy has checked already (it led before the database answered) keeps what
        it saw, which is newer; an incident the database holds open for it goes on (_carry_on)."""
        now = datetime.now(UTC)
        with self.app.app_context():
            store.register_targets(
                db.session,
                [
                    {
                        "name": t.name,
                        "kind": t.kind,
                        "description": t.description,
                        "interval_s": t.interval,
                    }
                    for t in self.config.targets
                ],
            )
            orphans = store.close_unconfigured_incidents(db.session, list(self.tracked), now)
            # Their close is committed: told now, before anything else can fail (load_states on
            # a database just back), since the restore() tried again finds them closed already.
            for row in orphans:
                self._close_unconfigured(_open_incident(row), now)
            saved = store.load_states(db.session)
            db.session.remove()
        with self._lock:
            for name, tracked in self.tracked.items():
                row = saved.get(name)
                if not row:
                    continue
                incident = row.get("incident")
                if tracked.runs:
                    if incident:
                        self._carry_on(tracked, _open_incident(incident))
                    continue
                tracked.state = TargetState(row["state"], row["failures"], row["successes"])
                tracked.since = row["state_since"]
                tracked.last_checked_at = row["last_checked_at"]
                tracked.first_failure_at = row["first_failure_at"]
                if incident:
                    tracked.incident = _open_incident(incident)
        self._restored = True

    def _carry_on(self, tracked: Tracked, saved: OpenIncident) -> None:
        """The database holds `saved` open for a target this copy checked before it could read
        it: the outage goes on as that incident. The first incident this copy opened for the
        target meanwhile (it could not know) becomes `saved`; without one, `saved` is the
        target's own, which its next success ends."""
        name = tracked.target.name
        opened = next(
            (r for r in self._pending if isinstance(r, store.IncidentOpened) and r.target == name),
            None,
        )
        if opened is None:
            tracked.incident = saved
            return
        self._pending.remove(opened)
        self._renamed[opened.key] = saved.key
        self._pending[:] = [_renamed(r, opened.key, saved.key) for r in self._pending]
        for other in self.tracked.values():
            if other.incident and other.incident.root_cause_key == opened.key:
                other.incident.root_cause_key = saved.key
        if opened.announced and not saved.announced:
            saved.announced = True
            self._pending.append(store.IncidentAnnounced(saved.key))
        if tracked.incident is not None and tracked.incident.key == opened.key:
            tracked.incident = saved

    def _close_unconfigured(self, incident: OpenIncident, at: datetime) -> None:
        """Tell the end of an incident whose target is no longer checked, as a recovery is told
        (the same event, so a webhook's reader closes it), saying why: the target is not known
        to be up. One held back for its root cause stays untold, as its recovery would."""
        duration = round(max(0.0, (at - incident.started_at).total_seconds()), 3)
        described = incident.describe(
            ended_at=at, duration_s=duration, closed_because=NO_LONGER_MONITORED
        )
        event = "incident.closed"
        self.notifier.incident(
            event,
            described,
            notify=incident.announced,
            report=self._deliveries(incident.key, event),
        )

    # --- checking ---

    def run_check(self, name: str) -> checks.CheckResult:
        target = self.tracked[name].target
        session = self.sessions[name]
        try:
            if target.kind == "http":
                return checks.check_http(target, session)
            if target.kind == "pair":
                return checks.check_pair(target, session)
            if target.kind == "postgres":
                return checks.check_postgres(target)
            journey = self.journey(target)
            if self.tracked[name].runs % JANITOR_EVERY == 0:
                self.sweep(journey, target)
            return journey.run()
        except Exception as exc:  # a bug in a check must not stop the others
            log.exception("the check itself failed", extra={"target": name})
            return checks.CheckResult(False, 0.0, step="check", error=type(exc).__name__)

    def journey(self, target: Target) -> Journey:
        email, password = sign_in_variables(os.environ)
        return Journey(
            target.gateway_url,
            os.environ.get(email, ""),
            os.environ.get(password, ""),
            target.timeout,
            self.sessions[target.name],
        )

    @staticmethod
    def sweep(journey: Journey, target: Target) -> None:
        try:
            removed = journey.sweep()
        except (requests.RequestException, StepFailed, ValueError, KeyError) as exc:
            # Clients down, say: the janitor tries again next time, and the journey itself
            # still runs and reports what it finds.
            log.warning(
                "the journey's janitor could not run", extra={"error": checks.describe(exc)}
            )
            return
        if removed:
            log.warning(
                "the janitor removed addresses left by failed journeys", extra={"removed": removed}
            )

    def check(self, name: str) -> None:
        """The job APScheduler runs for a target: check, judge, record, and check again soon
        when this check may have changed the target's state. Only the leading copy checks."""
        if not self.leads():
            return
        self.observe(name, self.run_check(name))
        delay = self.retry_delay(name)
        if delay is not None and self.scheduler is not None:
            # Only this run moves: the interval trigger counts the next ones from it, so the
            # rate stays fixed (its phase shifts by the retry).
            soon = datetime.now(UTC) + timedelta(seconds=delay)
            job = self.scheduler.get_job(f"check:{name}")
            if job is not None and job.next_run_time and soon < job.next_run_time:
                job.modify(next_run_time=soon)

    def retry_delay(self, name: str) -> float | None:
        """Seconds until the next check when the state is unconfirmed: failing but not down yet,
        or succeeding but not up yet. Otherwise None (the usual interval)."""
        tracked = self.tracked[name]
        state = tracked.state
        unconfirmed = (state.failures > 0 and state.state != DOWN) or tracked.recovering
        return tracked.target.retry_interval if unconfirmed else None

    def observe(self, name: str, result: checks.CheckResult) -> None:
        with self._lock:
            notes = self._advance(self.tracked[name], result)
        for event, incident, announce in notes:
            self.notifier.incident(
                event, incident, notify=announce, report=self._deliveries(incident["key"], event)
            )
        self.flush()
        self.write_snapshot()

    def _deliveries(self, key: str, event: str) -> Callable[[str, str], None]:
        """What a channel made of `event`, kept for the next write of the incident."""

        def report(channel: str, outcome: str) -> None:
            with self._lock:
                self._pending.append(
                    store.IncidentDelivery(
                        self._renamed.get(key, key), event, channel, outcome, datetime.now(UTC)
                    )
                )

        return report

    def _advance(self, tracked: Tracked, result: checks.CheckResult) -> list[tuple]:
        target, at = tracked.target, result.checked_at
        name = target.name
        tracked.runs += 1
        # The time this check stands for: since the one before, but a gap (the worker was
        # stopped) counts as no data, not as up or down.
        span = target.interval
        if tracked.last_checked_at is not None:
            span = min(max((at - tracked.last_checked_at).total_seconds(), 0.0), 2 * span)
        tracked.last_checked_at = at
        tracked.last_result = result
        before = tracked.state
        tracked.state = advance(
            before,
            StateOutcome(result.ok, result.latency_ms, result.degraded),
            down_after=target.down_after,
            up_after=target.up_after,
            latency_threshold_ms=target.latency_threshold_ms,
        )
        if tracked.state.state != before.state or tracked.since is None:
            tracked.since = at
        in_maintenance = self.config.in_maintenance(name, at)
        # Failures in a maintenance window count for nothing: an outage that outlasts the window
        # starts at its first failure after it.
        if result.ok or in_maintenance:
            tracked.first_failure_at = None
        elif tracked.first_failure_at is None:
            tracked.first_failure_at = at
        self._pending.append(
            store.Observation(
                target=name,
                checked_at=at,
                ok=result.ok,
                latency_ms=result.latency_ms,
                state=tracked.state.state,
                state_since=tracked.since,
                failures=tracked.state.failures,
                successes=tracked.state.successes,
                first_failure_at=tracked.first_failure_at,
                span_s=span,
                maintenance_s=self.config.maintenance_seconds(
                    name, at - timedelta(seconds=span), at
                ),
                step=result.step,
                error=result.error,
                steps=result.steps,
            )
        )
        notes: list[tuple] = []
        # Opened on a failure: a target still down when a maintenance window ends has its
        # incident at its next failure, and none if it recovers.
        if (
            tracked.state.state == DOWN
            and not result.ok
            and tracked.incident is None
            and not in_maintenance
        ):
            notes += self._open(tracked, at, result)
        elif tracked.incident is not None and tracked.state.state != DOWN and result.ok:
            notes += self._close(tracked, at)
        return notes + self._clear_suspicions() + self._release_outlived()

    def _open(self, tracked: Tracked, at: datetime, result: checks.CheckResult) -> list[tuple]:
        # It started at the first failure; its step and error are those of the failure that
        # confirmed it (the first one may have caught a process half-way through stopping).
        step, error = result.step, result.error
        incident = OpenIncident(
            str(uuid.uuid4()), tracked.target.name, tracked.first_failure_at or at, step, error
        )
        incident.root_cause_target, incident.root_cause_key = self._root_cause(tracked.target.name)
        incident.announced = incident.root_cause_target is None
        tracked.incident = incident
        self._pending.append(
            store.IncidentOpened(
                incident.key,
                incident.target,
                incident.started_at,
                step,
                error,
                incident.root_cause_target,
                incident.root_cause_key,
                incident.announced,
            )
        )
        notes = [("incident.opened", incident.describe(), incident.announced)]
        # Incidents that blamed this target before it had one of its own now point at it, or,
        # while it is held back, at its root cause's (as _root_cause does); never at one
        # incident's key with another's target. One still waiting for its cause is blamed itself.
        link = (
            (incident.root_cause_target, incident.root_cause_key)
            if incident.root_cause_key
            else (incident.target, incident.key)
        )
        for other in self.tracked.values():
            waiting = other.incident
            if waiting and waiting.awaiting_cause and waiting.root_cause_target == incident.target:
                waiting.root_cause_target, waiting.root_cause_key = link
                self._pending.append(
                    store.IncidentLinked(
                        waiting.key, waiting.root_cause_target, waiting.root_cause_key
                    )
                )
        return notes

    def _root_cause(self, name: str) -> tuple[str | None, str | None]:
        """The first dependency (the deepest first) that is failing too, and its incident's key
        when it has one, or, while that is held back, its own root cause's."""
        for dependency in self.config.dependencies(name):
            tracked = self.tracked[dependency]
            if tracked.incident is not None:
                if tracked.incident.held_back:
                    return tracked.incident.root_cause_target, tracked.incident.root_cause_key
                return dependency, tracked.incident.key
            if tracked.failing:
                return dependency, None
        return None, None

    def _close(self, tracked: Tracked, at: datetime) -> list[tuple]:
        incident, tracked.incident = tracked.incident, None
        self._pending.append(store.IncidentClosed(incident.key, at))
        duration = round((at - incident.started_at).total_seconds(), 3)
        described = incident.describe(ended_at=at, duration_s=duration)
        return [("incident.closed", described, incident.announced)]

    def _clear_suspicions(self) -> list[tuple]:
        """Incidents still waiting to blame a dependency that is healthy again, or no longer
        checked at all (gone from targets.yaml since), were not its doing after all, so they
        notify on their own. One whose target is passing again (recovering) waits: announced
        if it fails again, closed telling nobody if it recovers, as one held back would be;
        telling it now would be a false alarm followed by its recovery."""
        notes = []
        for other in self.tracked.values():
            waiting = other.incident
            if not (waiting and waiting.awaiting_cause) or other.recovering:
                continue
            suspect = self.tracked.get(waiting.root_cause_target)
            if suspect is not None and suspect.failing:
                continue
            waiting.root_cause_target = None
            waiting.announced = True
            self._pending += [
                store.IncidentLinked(waiting.key, None, None),
                store.IncidentAnnounced(waiting.key),
            ]
            notes.append(("incident.opened", waiting.describe(), True))
        return notes

    def _release_outlived(self) -> list[tuple]:
        """Incidents held back for a root cause whose incident is no longer open (it recovered,
        or closed while this worker was away) outlived it: each is announced now, on its own
        (keeping its link), and its recovery will be too. One whose root cause's target is no
        longer checked (removed or renamed in targets.yaml: its incident ended as no longer
        monitored, not known to have recovered) is announced as a plain opening, its link
        cleared, as _clear_suspicions does. One whose target is passing again (recovering) stays
        held: announced if it fails again, closed telling nobody if it recovers, as when it
        recovers before its root cause."""
        still_open = {t.incident.key for t in self.tracked.values() if t.incident is not None}
        notes = []
        for other in self.tracked.values():
            held = other.incident
            if (
                held
                and held.held_back
                and held.root_cause_key not in still_open
                and not other.recovering
            ):
                if held.root_cause_target not in self.tracked:
                    held.root_cause_target = held.root_cause_key = None
                    self._pending.append(store.IncidentLinked(held.key, None, None))
                held.announced = True
                self._pending.append(store.IncidentAnnounced(held.key))
                notes.append(("incident.opened", held.describe(), True))
        return notes

    # --- writing ---

    def flush(self) -> bool:
        """Write what is pending, while this copy leads: a check that ends after the lead went to
        another copy writes nothing (that one carries on from what the database holds). On a
        database error keep it all for the next time; a record the database refuses is dropped,
        since it would be refused again and hold back every record behind it. A copy that leads
        without the lock yet, or before it has read the database (restore()), keeps it all."""
        with self._flush_lock:
            if not self.leads():
                with self._lock:
                    self._pending.clear()
                return False
            with self._lock:
                batch = list(self._pending)
            if not batch:
                return True
            if not self.writes():
                self._keep("not leading on the database yet")
                return False
            try:
                with self.app.app_context():
                    refused = store.save(db.session, batch)
                    db.session.remove()
            except SQLAlchemyError as exc:
                self._keep(type(exc).__name__)
                return False
            with self._lock:
                del self._pending[: len(batch)]
            for record, error in refused:
                log.error(
                    "the database refused a record: dropped",
                    extra={"record": type(record).__name__, **_names(record), "error": error},
                )
            if self._database_down:
                log.warning(
                    "the database is back: wrote what was kept", extra={"records": len(batch)}
                )
            self._database_down = False
            return True

    def writes(self) -> bool:
        """Whether this copy, leading, may write: it holds the lock and has read the database."""
        return self.leadership is None or (self._restored and self.leadership.holding)

    def _keep(self, why: str) -> None:
        if not self._database_down:
            log.warning(
                "the database is unavailable: keeping results in memory", extra={"error": why}
            )
        self._database_down = True
        with self._lock:
            self._trim()

    def _trim(self) -> None:
        excess = len(self._pending) - MAX_PENDING
        if excess <= 0:
            return
        kept = []
        for record in self._pending:
            if excess > 0 and isinstance(record, store.Observation):
                excess -= 1
                continue
            kept.append(record)
        self._pending[:] = kept

    def snapshot(self) -> dict[str, Any]:
        """What the worker knows now, for the dashboard while the database is away
        (monitoring.snapshot)."""
        with self._lock:
            targets = []
            for tracked in self.tracked.values():
                result = tracked.last_result
                targets.append(
                    {
                        "name": tracked.target.name,
                        "kind": tracked.target.kind,
                        "description": tracked.target.description,
                        "interval_s": tracked.target.interval,
                        "state": tracked.state.state,
                        "state_since": tracked.since,
                        "last_checked_at": tracked.last_checked_at,
                        "last_ok": result.ok if result else None,
                        "last_latency_ms": result.latency_ms if result else None,
                        "last_error": result.error if result else None,
                        "last_step": result.step if result else None,
                    }
                )
            incidents = [
                {
                    "key": t.incident.key,
                    "target": t.incident.target,
                    "started_at": t.incident.started_at,
                    "first_failing_step": t.incident.step,
                    "error": t.incident.error,
                    "root_cause_target": t.incident.root_cause_target,
                    "notified": t.incident.announced,
                }
                for t in self.tracked.values()
                if t.incident is not None
            ]
            return {
                "written_at": datetime.now(UTC),
                "database_written": not self._database_down,
                "pending_records": len(self._pending),
                "targets": targets,
                "incidents_open": incidents,
            }

    def write_snapshot(self) -> None:
        if not self.snapshot_path:
            return
        try:
            with self._snapshot_lock:
                snapshot.write(self.snapshot_path, self.snapshot())
        except OSError as exc:
            # The database still has the figures; the fallback is only as fresh as this file.
            log.warning("no snapshot written", extra={"error": type(exc).__name__})

    def beat(self) -> None:
        if not self.leads():
            return
        self.write_snapshot()
        if not self.writes():
            return
        try:
            with self.app.app_context():
                store.beat(db.session, "worker", self.started_at, os.getpid(), len(self.tracked))
                db.session.remove()
        except SQLAlchemyError as exc:
            log.info("no heartbeat written", extra={"error": type(exc).__name__})

    def prune(self) -> None:
        if not self.leads() or not self.writes():
            return
        try:
            with self.app.app_context():
                removed = store.prune(db.session, datetime.now(UTC))
                db.session.remove()
        except SQLAlchemyError as exc:
            log.info("nothing pruned", extra={"error": type(exc).__name__})
            return
        log.info("pruned", extra=removed)


def _renamed(record: store.Record, old: str, new: str) -> store.Record:
    """`record` with the incident key `old` (its own, or its root cause's) made `new`."""
    changes = {
        name: new for name in ("key", "root_cause_key") if getattr(record, name, None) == old
    }
    return replace(record, **changes) if changes else record


def _names(record: store.Record) -> dict[str, str]:
    """What says which target or incident a record is about, for a log line."""
    return {k: getattr(record, k) for k in ("target", "key") if hasattr(record, k)}


def _open_incident(row: dict[str, Any]) -> OpenIncident:
    """An open incident as store.load_states (or close_unconfigured_incidents) read it."""
    return OpenIncident(
        str(row["key"]),
        row["target"],
        row["started_at"],
        row["first_failing_step"],
        row["error"],
        row["root_cause_target"],
        str(row["root_cause_key"]) if row["root_cause_key"] else None,
        announced=row["notified"],
    )


def build_scheduler(monitor: Monitor):
    """APScheduler, one job per target at a fixed rate (an interval trigger counts from its start,
    so a slow check does not push the next ones later), one run at a time, late runs coalesced
    into one and skipped past half an interval."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    targets = monitor.config.targets
    scheduler = monitor.scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=len(targets) + 2)},
        job_defaults={"max_instances": 1, "coalesce": True},
    )
    now = datetime.now(UTC)
    for index, target in enumerate(targets):
        # The first runs are spread a little, so that the checks do not all start at once.
        start = now + timedelta(seconds=0.5 + 0.25 * index)
        scheduler.add_job(
            monitor.check,
            IntervalTrigger(seconds=target.interval, start_date=start, timezone=UTC),
            args=[target.name],
            id=f"check:{target.name}",
            misfire_grace_time=max(1, int(target.interval / 2)),
            next_run_time=start,
        )
    scheduler.add_job(
        monitor.beat,
        IntervalTrigger(seconds=HEARTBEAT_SECONDS, timezone=UTC),
        id="heartbeat",
        next_run_time=now,
        misfire_grace_time=HEARTBEAT_SECONDS,
    )
    scheduler.add_job(
        monitor.prune,
        IntervalTrigger(seconds=PRUNE_SECONDS, timezone=UTC),
        id="prune",
        next_run_time=now + timedelta(seconds=30),
        misfire_grace_time=PRUNE_SECONDS,
    )
    return scheduler


@click.command("worker")
@with_appcontext
def worker_command():
    """Check every target of targets.yaml on its schedule, forever."""
    try:
        config = load()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    app = current_app._get_current_object()
    # APScheduler logs every run at INFO; only its warnings (a missed or failed run) matter.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        public = public_url(os.environ.get(PUBLIC_URL_SETTING))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    notifier = Notifier(
        os.environ.get("WEBHOOK_URL"),
        email_to=email_recipients(os.environ.get("MONITOR_EMAIL_TO")),
        public_url=public,
    )
    monitor = Monitor(app, config, notifier)
    # Started while the database is down, it checks and alerts at once, from what it sees.
    monitor.leadership = Leadership(
        db.engine, "feira:monitoring:worker", grace=LEAD_GRACE_SECONDS, lead_unreached=True
    )
    scheduler = build_scheduler(monitor)

    def shut_down(signum, frame):
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    log.info(
        "monitoring",
        extra={
            "targets": [t.name for t in config.targets],
            "webhook": bool(notifier.webhook_url),
            "email": bool(notifier.email_to),
        },
    )
    started = time.monotonic()
    scheduler.start()
    notifier.drain(timeout=10)
    notifier.close()
    # After the notifications, so that what became of them (delivered, dropped) is written too.
    monitor.flush()
    monitor.leadership.release()
    log.info("stopped", extra={"ran_s": round(time.monotonic() - started)})
