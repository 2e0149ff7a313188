"""Database plumbing: one SQLAlchemy extension per service, bound to that service's schema."""

from __future__ import annotations

import logging
import re
import select
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from flask import has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.model import Model as FlaskModel
from psycopg.pq import TransactionStatus
from sqlalchemy import DateTime, Engine, MetaData, event, exc, func
from sqlalchemy.orm import Mapped, mapped_column

log = logging.getLogger("feira.db")
T = TypeVar("T")

# Constraint names carry the column, so an IntegrityError can name the field at fault.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(FlaskModel):
    """The base of every service's models (`db.Model`): flask-sqlalchemy's, and one way to apply
    a change (microblog-api's `Updateable`)."""

    def update(self, data: Mapping[str, Any]) -> None:
        """Set each attribute `data` names (a PATCH body's fields, or all of a PUT's)."""
        for key, value in data.items():
            setattr(self, key, value)


def make_db(schema: str) -> SQLAlchemy:
    """The extension object a service's models.py creates at import time."""
    return SQLAlchemy(
        metadata=MetaData(schema=schema, naming_convention=NAMING_CONVENTION), model_class=Model
    )


@contextmanager
def kept_after_commit(db: SQLAlchemy) -> Iterator[None]:
    """Within it, a commit leaves the session's objects as they are instead of expiring them,
    so an answer made from what the request just stored reads nothing back (a BEGIN, a SELECT
    and a ROLLBACK): an INSERT already returned the id and the server's defaults.

    Only where the code knows nothing else changed those rows: a Core UPDATE with
    `synchronize_session=False`, or a relationship loaded before the commit that it appended
    to, would answer stale values.
    """
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def replace_cut_connections(engine: Engine) -> None:
    """The engine's pool checks each connection it hands out (`_cut_connections_are_replaced`);
    on the service's own engines only, not every pool the process may make."""
    event.listen(engine, "checkout", _cut_connections_are_replaced)


def _cut_connections_are_replaced(dbapi_connection, connection_record, connection_proxy) -> None:
    """A pooled connection Postgres has cut (a restart, a terminated backend) is replaced before
    a request uses it, without pre-ping's round trip: an idle connection's socket has nothing
    to read unless the server wrote to it, and a server that ends a session writes its FATAL
    and closes. SQLAlchemy then replaces every connection the pool held from before and checks
    out a fresh one (`InvalidatePoolError`), so no request after a restart answers 503."""
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error) as error:  # a closed connection has no socket
        raise exc.InvalidatePoolError("the connection is closed") from error
    if readable:
        raise exc.InvalidatePoolError("the server closed the connection")


# Requests that only read, as HTTP means them; one that writes all the same is still atomic.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The execution option that marks a connection reading outside a transaction until it writes.
LAZY_BEGIN = "feira_lazy_begin"
_PLAIN_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_LOCKING_READ = re.compile(r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b", re.I)


def read_outside_transactions(engine: Engine) -> None:
    """A safe-method request's plain SELECTs run in autocommit: one round trip each, where a
    transaction costs a BEGIN before the first and a ROLLBACK when the session closes.

    Under READ COMMITTED each statement sees its own snapshot either way, so a read sees what it
    saw before. Anything else (an INSERT, UPDATE, DELETE, a locking SELECT, a SET) first opens a
    real transaction on the connection, which the session's commit or rollback then ends: a GET
    that writes is as atomic as a POST.
    """
    event.listen(engine, "engine_connect", _autocommit_for_safe_requests)
    event.listen(engine, "set_connection_execution_options", _explicit_isolation_is_kept)
    event.listen(engine, "before_cursor_execute", _begin_before_a_write)


def _autocommit_for_safe_requests(connection) -> None:
    if has_request_context() and request.method in SAFE_METHODS:
        connection.execution_options(isolation_level="AUTOCOMMIT", **{LAZY_BEGIN: True})


def _explicit_isolation_is_kept(connection, options: dict) -> None:
    # Code that asks for an isolation level itself (idempotency's AUTOCOMMIT connection) means
    # it: no transaction is opened behind its back, which nothing would then commit. SQLAlchemy
    # applies what this listener changes in `options`.
    if "isolation_level" in options and LAZY_BEGIN not in options:
        options[LAZY_BEGIN] = False


def _begin_before_a_write(connection, cursor, statement, parameters, context, executemany):
    if not connection.get_execution_options().get(LAZY_BEGIN):
        return
    if _PLAIN_READ.match(statement) and not _LOCKING_READ.search(statement):
        return
    if connection.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
        cursor.execute("BEGIN")


# A transaction whose statements all read the snapshot its first one took, and that writes nothing.
ONE_SNAPSHOT = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}


def read_in_one_snapshot(db: SQLAlchemy) -> None:
    """The request's reads from here on see the database as their first one saw it: one
    REPEATABLE READ, READ ONLY transaction on the session's connection, where a safe-method
    request otherwise gives each statement a snapshot of its own (`read_outside_transactions`).
    For an answer that several statements read and that must agree with itself: an object and
    the relationships `lazy="selectin"` loads after it, each in its own SELECT.

    It costs a BEGIN before the first statement and a ROLLBACK when the session closes. The
    connection goes back to the pool as it came (SQLAlchemy resets what execution options set
    on it at check-in), so the next request on it reads as any other. Call it before the first
    statement of the session's transaction (a request's first, or the first after its commit or
    rollback, as a write's answer is read): the connection takes the level when it is checked out.
    """
    session = db.session()
    if session.in_transaction():
        raise RuntimeError("read_in_one_snapshot comes before the transaction's first statement")
    session.connection(execution_options=ONE_SNAPSHOT)


# The SQLSTATEs of a transaction PostgreSQL aborted so that another could go on: a serialization
# conflict (40001) or a deadlock it was chosen to break (40P01). Nothing of it was kept, so the
# same work run again from the start may well land.
ABORTED_TO_GO_ON = frozenset({"40001", "40P01"})


def aborted_to_go_on(error: BaseException) -> bool:
    """Whether `error` is PostgreSQL aborting the transaction for another's sake
    (`ABORTED_TO_GO_ON`), not the work failing on its own."""
    return (
        isinstance(error, exc.OperationalError)
        and getattr(error.orig, "sqlstate", None) in ABORTED_TO_GO_ON
    )


def run_again_if_aborted(db: SQLAlchemy, work: Callable[[], T], *, attempts: int, what: str) -> T:
    """`work()`, which ends by committing, run again from the start when PostgreSQL aborted its
    transaction for another's sake (`aborted_to_go_on`): the session is rolled back first, up to
    `attempts` runs in all, and the last run's abort, like any other error, is raised. The work
    must be safe to run again, as nothing of an aborted run is kept in the database. Each run
    again logs one warning, naming the work by `what` and nothing of its data."""
    attempt = 1
    while True:
        try:
            return work()
        except exc.OperationalError as error:
            if not aborted_to_go_on(error) or attempt >= attempts:
                raise
            sqlstate = error.orig.sqlstate
        # Outside the except, so a rollback that fails is not reported as raised while handling
        # the abort.
        db.session.rollback()
        attempt += 1
        log.warning("%s: the transaction was aborted (%s), run again", what, sqlstate)


def violated(error: exc.IntegrityError) -> str:
    """The name of the constraint or unique index PostgreSQL refused a write for ("" when the
    driver does not say): what tells one refusal from another."""
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None) or ""


def constraint_field(constraint: str) -> str:
    """`uq_clients_email` -> `email`; unique indexes on expressions are named the same way."""
    prefix, _, rest = constraint.partition("_")
    if prefix not in {"uq", "ix", "fk", "ck"} or not rest:
        return constraint or "value"
    for table in sorted(_known_tables(), key=len, reverse=True):
        if rest.startswith(table + "_"):
            return rest[len(table) + 1 :]
    return rest


def _known_tables() -> set[str]:
    from flask import current_app

    db = current_app.extensions.get("sqlalchemy")
    if db is None:
        return set()
    return {table.name for table in db.metadata.tables.values()}


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=utcnow
    )
