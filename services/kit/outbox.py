"""The transactional outbox: events written in the same transaction as the change, a relay that
delivers them by HTTP POST with retries, and a receiver that makes redelivery harmless.

A service's models.py creates `outbox = Outbox(db)` and its create_app calls
`init_outbox(app, outbox)`. A producer calls `outbox.emit(type, data)` before it commits, and
supervisord runs `flask --app services.<name>:create_app outbox-relay`. A consumer mounts the
receiver with its handlers, `outbox.receiver(app, {"client.deleted": on_client_deleted})`; each
handler takes the event's `data` dict. Subscribers are listed in the producer's
`OUTBOX_SUBSCRIBERS` (`name=url,name=url`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import click
import requests
from flask import Blueprint, Flask, current_app, request
from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    delete,
    exists,
    false,
    func,
    literal_column,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID, insert
from sqlalchemy.exc import DataError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from services.registry import BY_NAME

from .backlog import Backlog, Lag, watch_backlog
from .db import run_again_if_aborted, utcnow
from .errors import BadRequest, Conflict, Unauthorized
from .leader import only_one, xact_lock

log = logging.getLogger("feira.outbox")
SIGNATURE = "X-Feira-Signature"
MAX_BACKOFF_SECONDS = 60.0
# Events tried alone that a subscriber may leave unanswered in one pass before the rest of its
# batch waits for the next (`Outbox._send`).
SILENT_LIMIT = 2
# How many read timeouts a subscriber's part of a pass may last before it starts no more POSTs:
# events alone that keep being answered an error, however slowly, leave the rest for the next
# pass too, and every subscriber's next pass starts within about one read timeout more.
SEND_BUDGET_TIMEOUTS = 3


class _NotTried:
    """What `Outbox._send` answers for an event it left for the next pass untouched."""


NOT_TRIED = _NotTried()

# The most deliveries one relay pass takes.
RELAY_BATCH = 200
# What a handler raises on an event it cannot read: a missing or mistyped field, a number it
# cannot make (Decimal's InvalidOperation, an overflow: ArithmeticError), or a value the column
# cannot hold. The receiver answers such an event once, as rejected.
MALFORMED = (KeyError, TypeError, ValueError, ArithmeticError, DataError)
# How many times in all the receiver takes a body whose transaction PostgreSQL aborted, to break
# a deadlock or a serialization conflict (kit.db's `ABORTED_TO_GO_ON`), before the kit answers
# its 503 and the relay delivers the body again after a backoff (`Outbox._take_committed`).
RECEIVE_ATTEMPTS = 3
# The advisory lock class (kit.leader) of the inbox's event ids while a body is being taken, and
# the answer to a body holding one that another body is taking (`Outbox._inbox_statement`).
INBOX_LOCK_CLASS = 17001
IN_PROGRESS = "An event of this body is being taken by another delivery; try again later"


class _Woken(BaseException):
    """Ends a wait between passes when a stop is asked (never caught as an Exception)."""


class Stopping:
    """A CLI loop's graceful stop: SIGTERM (a rollout, `make stop`) or SIGINT lets the pass under
    way finish (a delivery recorded, a message sent and marked sent), then `requested` ends the
    loop and the process exits 0; a wait between passes ends at once. Without it, a loop that is
    PID 1 in its container (Kubernetes, compose) ignored SIGTERM until it was killed, maybe
    mid-send. The handlers are the process's while the `with` block runs (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._waiting = False
        self._before: dict[int, object] = {}

    def __enter__(self) -> Stopping:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._before[signum] = signal.signal(signum, self._ask)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._before.items():
            signal.signal(signum, handler)
        if self.requested:
            log.info("stopped on request")

    def _ask(self, signum, frame) -> None:
        # No logging here: the signal may come while the logger holds its lock.
        self.requested = True
        if self._waiting:
            self._waiting = False
            raise _Woken

    def wait(self, seconds: float) -> None:
        """Sleep between passes, or less: until a stop is asked."""
        try:
            self._waiting = True
            if not self.requested:
                time.sleep(seconds)
            self._waiting = False
        except _Woken:
            pass


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signed_so(given: str, expected: str) -> bool:
    """Whether a body's signature header is the expected one. Compared as bytes: compare_digest
    refuses a str with non-ASCII characters (gunicorn lets bytes 0x80-0xFF through in a header,
    werkzeug reads them as latin-1), and one that UTF-8 cannot encode is no signature either."""
    try:
        return hmac.compare_digest(given.encode(), expected.encode())
    except UnicodeEncodeError:
        return False


def parse_subscribers(spec: str | None) -> dict[str, str]:
    """`inventory=http://127.0.0.1:5004/internal/events,products=...` -> {name: url}. A
    subscriber that runs as several copies (SCALE) has their URLs joined by `|`: the relay tries
    them in turn."""
    subscribers = {}
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        name, sep, url = item.partition("=")
        urls = [part.strip() for part in url.split("|")]
        if (
            not sep
            or not name.strip()
            or not all(u.startswith(("http://", "https://")) for u in urls)
        ):
            raise ValueError(f"OUTBOX_SUBSCRIBERS entry {item!r} is not name=http(s)://url")
        subscribers[name.strip()] = "|".join(urls)
    return subscribers


class Outbox:
    """The outbox and inbox tables of one service, declared on that service's `db`."""

    def __init__(self, db):
        self.db = db

        class OutboxEvent(db.Model):
            __tablename__ = "outbox_events"
            id: Mapped[int] = mapped_column(primary_key=True)
            event_id: Mapped[uuid.UUID] = mapped_column(UUID, unique=True, nullable=False)
            type: Mapped[str] = mapped_column(String(80), nullable=False)
            payload: Mapped[dict] = mapped_column(JSONB, nullable=False)
            created_at: Mapped[datetime] = mapped_column(
                DateTime(timezone=True), nullable=False, server_default=func.now()
            )

        class OutboxDelivery(db.Model):
            """One row per event and subscriber: what was delivered, and when to try again."""

            __tablename__ = "outbox_deliveries"
            id: Mapped[int] = mapped_column(primary_key=True)
            event_id: Mapped[int] = mapped_column(
                ForeignKey("outbox_events.id", ondelete="CASCADE"), nullable=False
            )
            subscriber: Mapped[str] = mapped_column(String(40), nullable=False)
            attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
            next_attempt_at: Mapped[datetime] = mapped_column(
                DateTime(timezone=True), nullable=False, server_default=func.now()
            )
            delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
            last_error: Mapped[str | None] = mapped_column(Text)
            __table_args__ = (
                db.UniqueConstraint("event_id", "subscriber"),
                Index(
                    "ix_outbox_deliveries_pending",
                    "next_attempt_at",
                    postgresql_where=text("delivered_at IS NULL"),
                ),
            )

        class ProcessedEvent(db.Model):
            """The inbox: ids of events this service has handled, so a redelivery is a no-op."""

            __tablename__ = "processed_events"
            event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
            type: Mapped[str] = mapped_column(String(80), nullable=False)
            processed_at: Mapped[datetime] = mapped_column(
                DateTime(timezone=True), nullable=False, server_default=func.now()
            )

        self.Event = OutboxEvent
        self.Delivery = OutboxDelivery
        self.Processed = ProcessedEvent
        # The relay's connections to each subscriber, kept alive between passes (`_session`).
        self._sessions: dict[str, requests.Session] = {}
        # Seconds to connect to a subscriber and to wait for its answer (tests shorten them).
        self.post_timeout = (1, 5)
        # Housekeeping the relay loop also runs: [seconds between runs, task].
        self.chores: list[list] = []

    @functools.cached_property
    def _emit_statement(self):
        """The event and its deliveries in one statement (built once: services emit on their hot
        paths): `WITH event AS (INSERT ... RETURNING id) INSERT INTO deliveries SELECT ...`."""
        event = (
            insert(self.Event)
            .values(
                event_id=bindparam("event_id", type_=UUID),
                type=bindparam("type", type_=String),
                payload=bindparam("payload", type_=JSONB),
            )
            .returning(self.Event.id)
            .cte("event")
        )
        names = func.unnest(bindparam("subscribers", type_=ARRAY(String))).table_valued("name")
        return insert(self.Delivery).from_select(
            ["event_id", "subscriber"],
            select(event.c.id, names.c.name).select_from(event.join(names, true())),
        )

    @functools.cached_property
    def _inbox_statement(self):
        """A body's event ids recorded as processed in one statement, those already recorded
        left as they are (built once, like the emit). Each id is first claimed with a try of
        its advisory lock, held till the transaction ends: one another body is still taking
        (a batch whose handler hangs, the relay now posting its events alone) is not claimed,
        so its insert never waits on that transaction's uncommitted row. Rows (id, True) are
        the new ids, (id, False) those claimed elsewhere; the rest are duplicates."""
        received = (
            func.unnest(
                bindparam("event_ids", type_=ARRAY(UUID)), bindparam("types", type_=ARRAY(String))
            )
            .table_valued("event_id", "type")
            .render_derived("received")
        )
        # Referenced twice and volatile, the CTE is computed once, each row's lock tried
        # before that row is inserted. The key holds the service (`inbox`): one database holds
        # every service's schema, and each subscriber hears the same event id.
        claimed = select(
            received.c.event_id,
            received.c.type,
            func.pg_try_advisory_xact_lock(
                literal_column(str(INBOX_LOCK_CLASS)),
                func.hashtext(bindparam("inbox", type_=String) + cast(received.c.event_id, Text)),
            ).label("free"),
        ).cte("claimed")
        inserted = (
            insert(self.Processed)
            .from_select(
                ["event_id", "type"],
                select(claimed.c.event_id, claimed.c.type).where(claimed.c.free),
            )
            .on_conflict_do_nothing()
            .returning(self.Processed.event_id)
            .cte("inserted")
        )
        return union_all(
            select(inserted.c.event_id, true().label("new")),
            select(claimed.c.event_id, false()).where(~claimed.c.free),
        )

    def every(self, seconds: float, task: Callable[[], object]) -> None:
        """Run `task` from the relay loop every `seconds` (a service's sweeper, say): the relay is
        already the one supervised background process each producer has (a service with none
        runs `run_due_chores` from its own loop). With SCALE copies of the relay, an advisory
        lock lets one copy at a time run it (`run_chore`)."""
        self.chores.append([seconds, task])

    # --- producing ---

    def emit(self, type_: str, data: dict) -> uuid.UUID:
        """Add an event to the current transaction; it leaves only if the change commits. A
        delivery is written for each subscriber that hears this type (a registry service hears
        what its entry says; any other subscriber, a test's, hears everything), event and
        deliveries in one statement."""
        event_id = uuid.uuid4()
        payload = {
            "id": str(event_id),
            "type": type_,
            "producer": current_app.config["SERVICE_NAME"],
            "occurred_at": utcnow().isoformat(),
            "data": data,
        }
        hearing = [
            name
            for name in current_app.config["OUTBOX_SUBSCRIBERS"]
            if name not in BY_NAME or type_ in BY_NAME[name].hears
        ]
        self.db.session.connection().execute(
            self._emit_statement,
            {"event_id": event_id, "type": type_, "payload": payload, "subscribers": hearing},
        )
        return event_id

    # --- relaying ---

    def relay_once(self, batch: int = RELAY_BATCH) -> int:
        """Try the deliveries that are due, at most `batch` per subscriber (so one subscriber's
        backlog or failures never fill another's pass), a subscriber's in one POST (`_send`), all
        subscribers at once (`_send_all`). Returns how many were delivered."""
        session = self.db.session
        subscribers = current_app.config["OUTBOX_SUBSCRIBERS"]
        secret = current_app.config["OUTBOX_SECRET"]
        now = utcnow()
        is_due = (self.Delivery.delivered_at.is_(None), self.Delivery.next_attempt_at <= now)
        # Most passes find nothing due: asked first, in one plain statement, that costs a fifth of
        # the CPU of the lock and the query below (0.6 ms against 3 ms of the relay's own; its
        # seven relays, each polling four times a second, were a quarter of the test stack's
        # CPU through a Robot run, 2026-12-07).
        if not session.execute(select(exists().where(*is_due))).scalar():
            session.rollback()
            return 0
        # SCALE copies of the relay: one pass at a time per service (the others find the lock
        # taken and wait for their next poll), so a pass sends a subscriber's due events in the
        # order they were written (a retried one, waiting its own backoff, may come after later
        # ones: subscribers to which order matters tell by the event's time). SKIP LOCKED below
        # keeps a delivery from going out twice even without it.
        if not xact_lock(session, self.lock_name("relay")):
            session.rollback()
            return 0
        # Each subscriber's first `batch` due deliveries. Postgres takes no FOR UPDATE beside a
        # window function, so the rows are chosen here and locked by the query below.
        ranked = (
            select(
                self.Delivery.id,
                func.row_number()
                .over(partition_by=self.Delivery.subscriber, order_by=self.Delivery.id)
                .label("position"),
            )
            .where(*is_due)
            .subquery()
        )
        due = session.execute(
            select(self.Delivery, self.Event.payload)
            .join(self.Event, self.Event.id == self.Delivery.event_id)
            # Checked again on the locked row: one another relay delivered meanwhile is left.
            .where(
                self.Delivery.id.in_(select(ranked.c.id).where(ranked.c.position <= batch)),
                *is_due,
            )
            .order_by(self.Delivery.id)
            # Several relays may run; each takes rows the others are not holding.
            .with_for_update(of=self.Delivery, skip_locked=True)
        ).all()
        by_subscriber: dict[str, list] = {}
        for delivery, payload in due:
            by_subscriber.setdefault(delivery.subscriber, []).append((delivery, payload))
        outcomes = self._send_all(by_subscriber, subscribers, secret)
        delivered = 0
        for name, rows in by_subscriber.items():
            for (delivery, payload), error in zip(rows, outcomes[name], strict=True):
                if error is not NOT_TRIED:
                    delivered += self._record(delivery, payload, error)
        session.commit()
        return delivered

    def _send_all(
        self, by_subscriber: dict[str, list], subscribers: dict[str, str], secret: str
    ) -> dict[str, list[str | _NotTried | None]]:
        """Each subscriber's due events sent in a thread of its own, all at once: one that takes
        connections and never answers costs the others none of its timeouts. Only the HTTP is
        done in the threads; the caller records the outcomes on its session once all are in.
        Each subscriber's events still go out in order, one POST after another."""
        outcomes: dict[str, list[str | _NotTried | None]] = {}
        sending = {}
        for name, rows in by_subscriber.items():
            url = subscribers.get(name)
            if url is None:
                outcomes[name] = [f"subscriber {name} is no longer configured"] * len(rows)
            else:
                sending[name] = (
                    self._session(name),
                    url,
                    [payload for _, payload in rows],
                    [delivery.attempts for delivery, _ in rows],
                )
        if not sending:
            return outcomes
        with ThreadPoolExecutor(len(sending), thread_name_prefix="outbox-send") as pool:
            sent = {name: pool.submit(self._send, *args, secret) for name, args in sending.items()}
        # A failure other than HTTP's (a bug in a send) is raised here and fails the pass.
        outcomes.update((name, future.result()) for name, future in sent.items())
        return outcomes

    def _session(self, name: str) -> requests.Session:
        """The subscriber's own requests.Session, made on its first pass and kept (its connections
        stay alive between passes): a Session is not documented as safe to share between the
        threads of `_send_all`, so none is shared. Only the thread running the pass calls it."""
        http = self._sessions.get(name)
        if http is None:
            http = self._sessions[name] = requests.Session()
            http.trust_env = False
        return http

    def _send(
        self,
        http: requests.Session,
        url: str,
        payloads: list[dict],
        attempts: list[int],
        secret: str,
    ) -> list[str | _NotTried | None]:
        """A subscriber's due events in one POST (a JSON array, in the order they were written);
        each one's error, None once delivered, or NOT_TRIED (below).
        - No copy of the subscriber could be reached (a refused or reset connection, a connect
          timeout): trying each event would only repeat that while every other subscriber
          waits, so the events fail together and wait their backoff.
        - It answered an error, or took the body and did not answer in time (one event whose
          handler hangs, say on a slow payment provider): each event is tried alone, so one it
          refuses holds back no other. (The kit's receiver holds a body's events till it ends:
          while that one hangs, it answers the others alone 409 at once, and a later pass
          finds them taken, or takes them if that body failed.) After SILENT_LIMIT events alone
          go unanswered the rest wait too: a subscriber that takes connections but answers
          nothing costs a pass a few timeouts, not one per event. The rest wait as well once
          SEND_BUDGET_TIMEOUTS read timeouts have passed since the first POST: one that answers
          each event an error after seconds (a handler waiting on a service that is down) costs
          the pass, and so every other subscriber's next one, no more. Those left then are
          NOT_TRIED: no attempt counted, no backoff, due again at the next pass; and since
          events alone go those tried fewest times first (then in the order written), that
          pass reaches them before the ones that failed here, so a few old events that fail
          slowly cannot keep the newer ones from ever being posted. Otherwise (the subscriber
          answered none alone: down or hung) those left fail with the last error and wait
          their backoff, so it is not posted to pass after pass."""
        _, read_timeout = self.post_timeout
        deadline = time.monotonic() + SEND_BUDGET_TIMEOUTS * read_timeout
        failure = None
        if len(payloads) > 1:
            failure, reached, _ = self._post(http, url, payloads, secret)
            if failure is None or not reached:
                return [failure] * len(payloads)
        outcomes: list[str | _NotTried | None] = [NOT_TRIED] * len(payloads)
        silent, heard = 0, False
        for index in sorted(range(len(payloads)), key=lambda i: (attempts[i], i)):
            if time.monotonic() >= deadline:
                if heard:
                    return outcomes
                break
            error, reached, answered = self._post(http, url, payloads[index], secret)
            outcomes[index] = error
            failure = error or failure
            silent += not answered
            heard = heard or answered
            if not reached or silent >= SILENT_LIMIT:
                break
        return [failure if outcome is NOT_TRIED else outcome for outcome in outcomes]

    @staticmethod
    def _record(delivery, payload: dict, error: str | None) -> int:
        delivery.attempts += 1
        if error is None:
            delivery.delivered_at = utcnow()
            delivery.last_error = None
            return 1
        backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(delivery.attempts, 10))
        delivery.next_attempt_at = utcnow() + timedelta(seconds=backoff)
        delivery.last_error = error[:500]
        log.warning(
            "delivery of %s to %s failed (attempt %s): %s",
            payload["type"],
            delivery.subscriber,
            delivery.attempts,
            error,
        )
        return 0

    def _post(
        self, http: requests.Session, url: str, payload: dict | list[dict], secret: str
    ) -> tuple[str | None, bool, bool]:
        """POST to the subscriber; with several copies (`url1|url2`), to the next one when a
        copy fails (a redelivery is harmless: the receiver skips an id it has processed).
        Returns the error (None once a copy took it), whether any copy was reached (a connection
        made and the body sent) and whether any answered at all."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        error, reached, answered = None, False, False
        for copy in url.split("|"):
            try:
                response = http.post(
                    copy,
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        SIGNATURE: signature(secret, body),
                    },
                    timeout=self.post_timeout,
                )
            except requests.ConnectionError as exc:  # ConnectTimeout too: nothing was sent
                error = type(exc).__name__
                continue
            except requests.RequestException as exc:  # a read timeout: sent, no answer
                error, reached = type(exc).__name__, True
                continue
            reached = answered = True
            if response.status_code >= 300:
                error = f"HTTP {response.status_code}"
                continue
            return None, True, True
        return error, reached, answered

    def backlog(self) -> dict[str, Lag]:
        """Each subscriber's undelivered events, and how long ago the oldest of them fell due: at
        its event's writing, however often it was tried since (a failed delivery waits a backoff
        of up to MAX_BACKOFF_SECONDS, so a subscriber refusing every event never has one that is
        due for long, but its events grow old). Every configured subscriber is named, and one no
        longer configured that still has events waiting."""
        waiting = self.db.session.execute(
            select(
                self.Delivery.subscriber,
                func.count(),
                func.extract("epoch", func.clock_timestamp() - func.min(self.Event.created_at)),
            )
            .join(self.Event, self.Event.id == self.Delivery.event_id)
            .where(self.Delivery.delivered_at.is_(None))
            .group_by(self.Delivery.subscriber)
        ).all()
        lags = {name: Lag(0, 0.0) for name in current_app.config["OUTBOX_SUBSCRIBERS"]}
        for name, pending, oldest in waiting:
            lags[name] = Lag(pending, max(0.0, float(oldest)))
        return lags

    def lock_name(self, task: str) -> str:
        """The advisory lock of one of this service's background tasks (kit.leader)."""
        return f"feira:{current_app.config['SERVICE_NAME']}:{task}"

    def run_chore(self, index: int) -> bool:
        """Run chore `index` if no copy of this service's relay is running it now; True if run.
        A chore commits as it goes (a sweep, reconciliation), so its lock is held on a
        connection of its own for the whole run."""
        task = self.chores[index][1]
        with only_one(self.db.engine, self.lock_name(f"chore:{index}")) as mine:
            if mine:
                task()
            return mine

    def run_due_chores(self, last_run: dict[int, float]) -> None:
        """Each chore whose interval has passed since this loop last ran it (`last_run`, the
        loop's own: index to time.monotonic()), or that it never ran, under its advisory lock
        (`run_chore`: one another copy is running is skipped). The relay's loop calls it, and a
        service with no relay (notifications hears events and emits none) from its own loop. One
        that fails is logged and tried again at its next interval; the loop goes on."""
        for index, (seconds, _) in enumerate(self.chores):
            if time.monotonic() - last_run.get(index, float("-inf")) < seconds:
                continue
            last_run[index] = time.monotonic()
            try:
                self.run_chore(index)
            except Exception:
                self.db.session.rollback()
                log.exception("chore %s failed; tried again at its next interval", index)

    def prune(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Forget events every subscriber has had for a week, and old inbox ids."""
        session = self.db.session
        cutoff = utcnow() - older_than
        pending = select(self.Delivery.id).where(
            self.Delivery.event_id == self.Event.id, self.Delivery.delivered_at.is_(None)
        )
        removed = session.execute(
            self.Event.__table__.delete().where(self.Event.created_at < cutoff, ~pending.exists())
        ).rowcount
        # Inbox ids are kept far longer than any redelivery could take.
        session.execute(
            self.Processed.__table__.delete().where(
                self.Processed.processed_at < utcnow() - 4 * older_than
            )
        )
        session.commit()
        return removed

    def run_relay(self, interval: float = 0.25) -> None:
        """Pass after pass until SIGTERM or SIGINT, which lets the pass under way finish
        (`Stopping`)."""
        log.info("outbox relay started for %s", list(current_app.config["OUTBOX_SUBSCRIBERS"]))
        last_prune = 0.0
        last_run: dict[int, float] = {}
        with Stopping() as stop:
            while not stop.requested:
                try:
                    delivered = self.relay_once()
                    if time.monotonic() - last_prune > 3600:
                        self.prune()
                        last_prune = time.monotonic()
                    self.run_due_chores(last_run)
                except Exception:
                    self.db.session.rollback()
                    log.exception("relay pass failed; retrying in 5 s")
                    stop.wait(5)
                    continue
                # Straight on only while a pass comes back full (more are waiting). After a
                # partial one the relay waits its interval, as when idle, so a steady trickle of
                # events (one per order placed) goes out as batches, not a POST each: each POST
                # cost the subscriber a whole request's CPU, more than the handlers of a batch
                # together. An event still goes out within about one interval of its commit.
                if delivered < RELAY_BATCH:
                    stop.wait(interval)

    # --- receiving ---

    def receiver(self, app: Flask, handlers: dict[str, Callable[[dict], None]]) -> None:
        """Mount POST /internal/events: verify the signature, then, for the event (or each event
        of a batch, in order), skip an id already processed, run the handler and record the id;
        one transaction for the whole body (`_take_committed`)."""
        outbox = self
        bp = Blueprint("outbox_inbox", __name__)

        @bp.post("/internal/events")
        def receive():
            body = request.get_data()
            expected = signature(current_app.config["OUTBOX_SECRET"], body)
            if not _signed_so(request.headers.get(SIGNATURE, ""), expected):
                raise Unauthorized("The event signature does not match")
            try:
                parsed = json.loads(body)
                events = [
                    (uuid.UUID(event["id"]), str(event["type"]), event)
                    for event in (parsed if isinstance(parsed, list) else [parsed])
                ]
            except (ValueError, KeyError, TypeError) as exc:
                raise BadRequest("The event is not a Feira event") from exc
            statuses = outbox._take_committed(handlers, events)
            if isinstance(parsed, list):
                return {"statuses": statuses}, 200
            return {"status": statuses[0]}, 200

        app.register_blueprint(bp)

    def _take_committed(self, handlers, events: list[tuple[uuid.UUID, str, dict]]) -> list[str]:
        """A body's events taken (`_take`) and committed. When PostgreSQL aborts the transaction
        to break a deadlock or a serialization conflict, nothing of it was kept: it is rolled
        back and taken again at once, up to RECEIVE_ATTEMPTS in all. That is the relay's
        redelivery without its backoff, so a `reaches_outside` handler runs again no more than
        it would then."""

        def take() -> list[str]:
            statuses = self._take(handlers, events)
            self.db.session.commit()
            return statuses

        return run_again_if_aborted(self.db, take, attempts=RECEIVE_ATTEMPTS, what="an event body")

    def _take(self, handlers, events: list[tuple[uuid.UUID, str, dict]]) -> list[str]:
        """A body's events, inside the request's transaction: the ids in one statement, then
        each new event's handler in turn. An event a handler cannot read (`MALFORMED`) is
        rare: the whole body is rolled back and taken again with a savepoint per event, so the
        unreadable one is rejected having written nothing and the others are processed. A
        handler that does more than write through the session is marked `reaches_outside`, and
        a body holding its event is taken the careful way from the start, so it runs once."""
        if any(getattr(handlers.get(kind), "reaches_outside", False) for _, kind, _ in events):
            return self._take_all(handlers, events, guarded=True)
        try:
            statuses = self._take_all(handlers, events, guarded=False)
            # What the handlers left in the session is written here, not at the commit: a value
            # a column cannot hold is then still an unreadable event (a savepoint's end flushes
            # the same way on the careful path).
            self.db.session.flush()
            return statuses
        except MALFORMED:
            self.db.session.rollback()
        return self._take_all(handlers, events, guarded=True)

    def _take_all(self, handlers, events, *, guarded: bool) -> list[str]:
        session = self.db.session
        # The inbox keeps the type for whoever reads it, cut to its column: a type longer than
        # any handler's is still acknowledged ("ignored"), not a write that fails the body.
        keep = self.Processed.type.type.length
        recorded = session.connection().execute(
            self._inbox_statement,
            {
                "event_ids": [event_id for event_id, _, _ in events],
                "types": [event_type[:keep] for _, event_type, _ in events],
                "inbox": f"{current_app.config['SERVICE_NAME']}:",
            },
        )
        new = set()
        for event_id, is_new in recorded:
            if not is_new:
                # Another body holding this event is still being taken: it is handled there,
                # or, if that body fails, by a redelivery. Nothing is kept of this one.
                session.rollback()
                raise Conflict(IN_PROGRESS)
            new.add(event_id)
        statuses = []
        for event_id, event_type, event in events:
            if event_id not in new:
                statuses.append("duplicate")
                continue
            # A second copy of the id in the same body is a duplicate of this one.
            new.discard(event_id)
            handler = handlers.get(event_type)
            if handler is None:
                statuses.append("ignored")
            elif not guarded:
                handler(event.get("data") or {})
                statuses.append("processed")
            else:
                try:
                    statuses.append(self._guarded(handler, event_id, event_type, event))
                except Exception:
                    # This id and the new ones after it were recorded but not taken.
                    self._keep_what_was_taken(new | {event_id})
                    raise
        return statuses

    def _keep_what_was_taken(self, untaken: set[uuid.UUID]) -> None:
        """An event of a careful body failed, not for being unreadable (a mail server or a
        provider that cannot answer now): the events before it reached outside already (a mail
        sent), so what they did is committed with their ids, and a redelivery of the body finds
        them "duplicate" instead of doing it again; the failed one's id and those after it are
        forgotten, so they are taken then. The failure itself is raised on (the kit's answer to
        it, a 503 say, has the relay deliver the body again)."""
        session = self.db.session
        try:
            session.execute(delete(self.Processed).where(self.Processed.event_id.in_(untaken)))
            session.commit()
        except SQLAlchemyError:
            # The database is what failed: nothing is kept, as before.
            session.rollback()

    def _guarded(self, handler, event_id: uuid.UUID, event_type: str, event: dict) -> str:
        try:
            with self.db.session.begin_nested():
                handler(event.get("data") or {})
        except MALFORMED as exc:
            # Retrying an event its handler cannot read would never succeed: its id is kept (so
            # it is not redelivered) and the sender's mistake is logged.
            log.error("rejected %s %s: %s", event_type, event_id, type(exc).__name__)
            return "rejected"
        return "processed"


def reaches_outside(handler: Callable[[dict], None]) -> Callable[[dict], None]:
    """Marks an event handler that does more than write through the session (sends a mail,
    calls a provider): the receiver never runs it a second time for one delivery, as it may
    run the others (`Outbox._take`)."""
    handler.reaches_outside = True
    return handler


def init_outbox(app: Flask, outbox: Outbox) -> None:
    """Settings (subscribers, the signing secret), the `outbox-relay` command and, for a service
    that emits, `/health/outbox`: red while a subscriber's oldest undelivered event is older than
    BACKLOG_LATE_AFTER_S (the relay stopped or hung, or the subscriber refuses it)."""
    from .settings import env

    app.config.setdefault("OUTBOX_SUBSCRIBERS", parse_subscribers(env("OUTBOX_SUBSCRIBERS")))
    app.config.setdefault("OUTBOX_SECRET", env("OUTBOX_SECRET"))
    if not app.config["OUTBOX_SECRET"]:
        raise RuntimeError("OUTBOX_SECRET must be set (the stack generates it in .run/secrets.env)")

    service = BY_NAME.get(app.config["SERVICE_NAME"])
    if app.config["OUTBOX_SUBSCRIBERS"] or (service and service.has_relay):
        watch_backlog(
            app,
            Backlog(
                "/health/outbox",
                outbox.backlog,
                metric="feira_outbox",
                late_because="Events undelivered",
                label="subscriber",
            ),
        )

    @app.cli.command("outbox-relay")
    @click.option("--interval", default=0.25, show_default=True, help="Seconds between polls")
    def relay_command(interval):
        """Deliver this service's events to its subscribers, forever."""
        outbox.run_relay(interval)
