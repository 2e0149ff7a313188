"""One at a time across copies: PostgreSQL advisory locks for what SCALE copies of a process
must not do twice at once (README: "Running on Kubernetes", N replicas).

- `xact_lock(session, name)`: tried inside the caller's transaction and released by its commit
  or rollback (the outbox relay's pass: one relay delivers at a time, so copies never race
  each other's deliveries; retries after a failure may still bring a later event first).
- `wait_xact_lock(session, kind, key, shared=...)`: waited for inside the caller's transaction,
  one per row of a kind (inventory's per client and per product: a deletion takes it alone, the
  writes it must see share it, so they never wait for one another).
- `only_one(engine, name)`: a context manager held on a connection of its own for a task that
  commits several transactions (a sweep, reconciliation); yields False when another process
  holds it, and Postgres frees it if the holder dies (its connection closes).
- `Leadership(engine, name)`: a lock held for as long as a process leads (the monitoring
  worker): `leading()` keeps it, takes it when free, and says whether this process leads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("feira.leader")
TRY = text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")
TRY_XACT = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))")
UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))")
WAIT_XACT = text("SELECT pg_advisory_xact_lock(:kind, CAST(:key AS integer))")
WAIT_XACT_SHARED = text("SELECT pg_advisory_xact_lock_shared(:kind, CAST(:key AS integer))")


def xact_lock(session, name: str) -> bool:
    """Try the lock `name` in the session's transaction; True when taken (until it ends)."""
    return bool(session.execute(TRY_XACT, {"name": name}).scalar())


def wait_xact_lock(session, kind: int, key: int, *, shared: bool) -> None:
    """Wait for the lock (`kind`, `key`) in the session's transaction, held until it ends. `kind`
    is a number of its own per use (grep the code for the ones taken). Shared holders never wait
    for one another, only for the exclusive one: takers of several keys in any order cannot
    deadlock among themselves, only with an exclusive taker holding several (an inbox body of
    several deletions), which the event receiver then takes again."""
    session.execute(WAIT_XACT_SHARED if shared else WAIT_XACT, {"kind": kind, "key": key})


@contextmanager
def only_one(engine, name: str) -> Iterator[bool]:
    """Hold the lock `name` for the block on a connection of its own: True when this process
    took it, False when another holds it (the block should then do nothing)."""
    with engine.connect() as connection:
        taken = bool(connection.execute(TRY, {"name": name}).scalar())
        connection.commit()
        try:
            yield taken
        finally:
            if taken:
                try:
                    connection.execute(UNLOCK, {"name": name})
                    connection.commit()
                except SQLAlchemyError:
                    # The connection is gone, and the lock with it.
                    connection.invalidate()


class Leadership:
    """A session-level advisory lock kept on one dedicated connection while this process leads.

    While the database cannot be reached, a leader stays the leader (it may be the very thing
    that is down, and what it saw meanwhile is in its memory) and a follower stays a follower.
    The leader asks for its lock again at every call, so it has it back as soon as the database
    answers; a follower that could not reach the database asks again only once it has answered
    for `grace` seconds, longer than the leader takes to ask, so it never takes the lead (and
    the outage with it) from a leader that was merely waiting for the database. The lock goes to
    a follower when the leader is gone: it died, or its connection did while the database stayed
    up. A follower asks every `poll` seconds.

    With `lead_unreached`, a process that has not reached the database since it started leads
    until it does, without the lock (`holding` says whether it has it): it may be the only copy,
    and the database the very thing that is down. Once the database answers, it asks for the
    lock as a follower would, after `grace`, and follows if another process holds it."""

    def __init__(
        self,
        engine,
        name: str,
        poll: float = 2.0,
        grace: float = 0.0,
        *,
        lead_unreached: bool = False,
    ):
        self.engine = engine
        self.name = name
        self.poll = poll
        self.grace = grace
        self.lead_unreached = lead_unreached
        self._connection = None
        self._leading = False
        # Leading without ever having held the lock (lead_unreached): it waits out `grace`.
        self._unlocked = False
        self._reached = False
        self._asked_at = float("-inf")
        # Since when the database answers without a break (monotonic); None while it does not.
        # A process that has not yet found it down counts it as answering ever since.
        self._answering_since: float | None = float("-inf")
        self._lock = threading.Lock()

    def leading(self) -> bool:
        with self._lock:
            if self._leading:
                if self._still_held():
                    return True
                # The database went away with our connection: still the leader, until a new
                # connection finds the lock taken by another.
                if not self._take():
                    return self._leading
                return True
            if time.monotonic() - self._asked_at < self.poll:
                return False
            self._asked_at = time.monotonic()
            self._take()
            if not self._leading and self.lead_unreached and not self._reached:
                log.warning("leading until the database answers", extra={"lock": self.name})
                self._leading = self._unlocked = True
            return self._leading

    @property
    def holding(self) -> bool:
        """Whether this process holds the lock (as of its last `leading()`)."""
        with self._lock:
            return self._connection is not None

    def _still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except SQLAlchemyError:
            self._answering_since = None
            self._drop()
            return False

    def _take(self) -> bool:
        """Ask for the lock on a new connection. True when taken; False when another holds it
        (then this process follows), the database cannot be reached (nothing changes) or, for a
        follower, has not answered for `grace` seconds yet (it asks later)."""
        try:
            connection = self.engine.connect()
        except SQLAlchemyError:
            self._answering_since = None
            return False
        try:
            answered = self._answered_for(connection)
            self._reached = True
            if (self._unlocked or not self._leading) and answered < self.grace:
                connection.close()
                return False
            taken = bool(connection.execute(TRY, {"name": self.name}).scalar())
            connection.commit()
        except SQLAlchemyError:
            self._answering_since = None
            connection.invalidate()
            connection.close()
            return False
        if taken:
            self._connection = connection
            if not self._leading or self._unlocked:
                # Every start takes the lead: routine. Losing it, or leading unlocked, warns.
                log.info("leading", extra={"lock": self.name})
            self._leading, self._unlocked = True, False
            return True
        connection.close()
        if self._leading:
            log.warning("another process leads now: following", extra={"lock": self.name})
        self._leading = self._unlocked = False
        return False

    def _answered_for(self, connection) -> float:
        """Seconds the database has answered for, asking it on `connection` when it was down."""
        if self._answering_since is None:
            connection.execute(text("SELECT 1"))
            connection.commit()
            self._answering_since = time.monotonic()
        return time.monotonic() - self._answering_since

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None

    def release(self) -> None:
        with self._lock:
            if self._connection is not None and self._leading:
                try:
                    self._connection.execute(UNLOCK, {"name": self.name})
                    self._connection.commit()
                    self._connection.close()
                except SQLAlchemyError:
                    pass
            self._connection = None
            self._leading = self._unlocked = False
