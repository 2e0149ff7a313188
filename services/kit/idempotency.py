"""Idempotency-Key for a POST that creates a resource: a wrapper in which the key's answer and the
command's result are one atomic fact, so a retry, even after a crash, never does the work twice.

- Requests with the same key (per user) take turns under a PostgreSQL advisory lock held on a
  connection of its own: it keeps no transaction open, and it dies with the process, so a killed
  worker never leaves a key taken.
- The key's row is written by the command, inside its own transactions: `bind` in the one that
  first stores the resource (the row then names it), `answer` in the one that completes it (the
  row then holds the answer). A crash anywhere leaves one of three: no row (the work is done
  again), a bound row (the command is given `resource_id` and resumes what it started), or an
  answer (replayed: the same status, body and Location).
- The same key with another body (or, on a route with path arguments, another path) is a 409
  whose problem has `key_reused: true`, and `resource_id`, the id of what the key made, once it
  made something;
  a command refused (a 4xx) lets its key go, so a retry does the work again; one that failed
  otherwise (a 5xx: something it depends on unreachable) keeps a key already bound to its
  resource, so a retry resumes that resource, as after a crash, instead of starting another
  (and the same key with another body stays a 409 until the key expires).

Each service keeps the keys in its own schema: a model of `IdempotencyKeyMixin`, wrapped once
with `IdempotentCommand`, whose instance decorates the view (innermost) and passes it `key`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import Response, current_app, jsonify, request, url_for
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, DateTime, Index, Integer, String, delete, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from werkzeug.exceptions import HTTPException

from .db import utcnow
from .errors import Conflict, Problem, Unprocessable
from .failpoints import failpoint
from .security import current_caller

log = logging.getLogger("feira.idempotency")

HEADER = "Idempotency-Key"
MAX_KEY = 255


def key_parameter(within: str | None = None) -> dict:
    """The optional Idempotency-Key header, as the OpenAPI document describes it; `within` names
    what else the key stands for on a route with path arguments ("client": the same key for
    another client's addresses is a 409)."""
    scope, other = (f" for the same {within}", f" or {within}") if within else ("", "")
    return {
        "in": "header",
        "name": HEADER,
        "required": False,
        "schema": {"type": "string", "maxLength": MAX_KEY},
        "description": f"Per user, kept 24 h: the same key and body{scope} answer the first "
        f"answer again; the same key with another body{other} is a 409",
    }


class IdempotencyKeyMixin:
    """A key's row: whose, the request it came with, the resource it made (once stored) and the
    answer (once complete)."""

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[int | None] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    @declared_attr.directive
    def __table_args__(cls):
        # Expired keys are deleted by age.
        return (Index(f"ix_{cls.__tablename__}_created_at", "created_at"),)


def fingerprint(body) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


class NoKey:
    """A request without the header: nothing to resume, nothing to write."""

    resource_id = None

    def bind(self, resource_id: int, connection: Connection | None = None) -> None:
        pass

    def answer(self, resource) -> None:
        pass


NO_KEY = NoKey()


class Key:
    """The request's key, as its command sees it. `resource_id` is the resource an earlier
    attempt with this key stored and never completed: the command resumes it (or, if it cannot,
    starts anew and binds the new one). Neither `bind` nor `answer` commits: the command's own
    commit makes them true together with its work."""

    def __init__(self, command: IdempotentCommand, user_id: int, key: str, digest: str):
        self.command, self.user_id, self.key, self.digest = command, user_id, key, digest
        self.resource_id: int | None = None

    def bind(self, resource_id: int, connection: Connection | None = None) -> None:
        """In the session's transaction, or in `connection`'s: a command that commits what it
        started apart from a transaction it keeps open (holding a lock) binds the key there."""
        self._write(connection or self.command.db.session, resource_id=resource_id)
        self.resource_id = resource_id

    def answer(self, resource) -> None:
        """Written whether or not the key was bound: a command may be answered by what an
        earlier request started (an update alone would then change no row, and a retry would
        do the work again)."""
        self._write(
            self.command.db.session,
            resource_id=resource.id,
            status_code=self.command.status,
            response=self.command.schema().dump(resource),
        )

    def _write(self, executor, **values) -> None:
        """The key's row with `values`, made or changed."""
        model = self.command.model
        executor.execute(
            insert(model)
            .values(user_id=self.user_id, key=self.key, request_hash=self.digest, **values)
            .on_conflict_do_update(index_elements=[model.user_id, model.key], set_=values)
        )


class IdempotentCommand:
    """The wrapper for one POST: `model` is the service's key table, `schema` renders the
    answer, `endpoint` and `id_arg` build the resource's Location for a replay. A command
    answered at its own path (a 200, nothing created elsewhere) names no endpoint, and its
    replay no Location."""

    def __init__(
        self,
        db: SQLAlchemy,
        model,
        *,
        schema,
        endpoint: str | None,
        id_arg: str | None,
        status: int = 201,
        kept: timedelta = timedelta(hours=24),
    ):
        self.db, self.model, self.schema = db, model, schema
        self.endpoint, self.id_arg, self.status, self.kept = endpoint, id_arg, status, kept

    def __call__(self, view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get(HEADER)
            if header is None:
                return view(*args, key=NO_KEY, **kwargs)
            if not header.strip() or len(header) > MAX_KEY:
                raise Unprocessable({HEADER: [f"Between 1 and {MAX_KEY} characters."]})
            user_id = current_caller().id
            with self._turn(user_id, header):
                found = self._look_up(user_id, header, fingerprint(self._request()))
                if isinstance(found, Response):
                    return found
                try:
                    result = view(*args, key=found, **kwargs)
                except Exception as error:
                    self._let_go(user_id, header, keep_bound=not refused(error))
                    raise
                failpoint("idempotency.answered")
                return result

        return wrapper

    @staticmethod
    def _request():
        """What a key stands for: the body, and the path's arguments when the route has any (the
        same key and body for another client's addresses is another request)."""
        body = request.get_json()
        return {"path": request.view_args, "body": body} if request.view_args else body

    def forget_expired(self) -> None:
        """Keys older than `kept` (in the caller's transaction)."""
        self.db.session.execute(
            delete(self.model).where(self.model.created_at < utcnow() - self.kept)
        )

    def _mine(self, user_id: int, key: str):
        return (self.model.user_id == user_id) & (self.model.key == key)

    @contextmanager
    def _turn(self, user_id: int, key: str) -> Iterator[None]:
        """Waits for, then holds, the key's lock. Two keys whose names hash alike merely take
        turns too."""
        name = f"{self.model.__table__.fullname}:{user_id}:{key}"
        connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            connection.execute(
                text("SELECT pg_advisory_lock(hashtextextended(:name, 0))"), {"name": name}
            )
            yield
        finally:
            try:
                connection.execute(
                    text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"),
                    {"name": name},
                )
            except Exception:
                # A lock left on a pooled connection would stay taken: the connection goes.
                connection.invalidate()
            connection.close()

    def _look_up(self, user_id: int, key: str, digest: str) -> Response | Key:
        session = self.db.session
        session.execute(
            delete(self.model).where(
                self._mine(user_id, key), self.model.created_at < utcnow() - self.kept
            )
        )
        stored = session.execute(
            select(
                self.model.request_hash,
                self.model.resource_id,
                self.model.status_code,
                self.model.response,
            ).where(self._mine(user_id, key))
        ).first()
        session.commit()
        found = Key(self, user_id, key, digest)
        if stored is None:
            return found
        if stored.request_hash != digest:
            # `key_reused` tells this 409 from the command's own (a form knows its key is spent);
            # `resource_id` names what the key made, for the caller to check: the key is the
            # caller's own, so it names nothing of anyone else's.
            extra: dict = {"key_reused": True}
            if stored.resource_id is not None:
                extra["resource_id"] = stored.resource_id
            # A route with path arguments keys them too: the same body for another client is
            # another request as much as another body is.
            other = " or path" if request.view_args else ""
            raise Conflict(f"This Idempotency-Key was used with another body{other}", extra=extra)
        if stored.status_code is None:
            found.resource_id = stored.resource_id
            return found
        replay = jsonify(stored.response)
        replay.status_code = stored.status_code
        if self.endpoint is not None:
            replay.headers["Location"] = url_for(
                self.endpoint, **self._location_args(), **{self.id_arg: stored.resource_id}
            )
        replay.headers["Idempotent-Replayed"] = "true"
        return replay

    def _location_args(self) -> dict:
        """The POST's path arguments the resource's own route takes: one outside the POST's
        path (a holding is /holdings/{id}, not under its client) would make the others a query
        string, and the replay's Location another than the first answer's."""
        taken = {
            name
            for rule in current_app.url_map.iter_rules(self.endpoint)
            for name in rule.arguments
        }
        return {name: value for name, value in (request.view_args or {}).items() if name in taken}

    def _let_go(self, user_id: int, key: str, *, keep_bound: bool) -> None:
        """A command that failed keeps no claim on its key (unless it answered before failing):
        a retry does the work again. With `keep_bound` (it failed for want of something it
        depends on, not because the request was refused) a key it bound to a resource stays
        bound: a retry resumes that resource (a payment waiting for its provider) rather than
        making a second one that its first would conflict with. The command deletes a key with
        the resource it drops. Whatever stops this is logged, and the command's own error is
        what the client hears."""
        unanswered = self._mine(user_id, key) & self.model.status_code.is_(None)
        if keep_bound:
            unanswered &= self.model.resource_id.is_(None)
        session = self.db.session
        try:
            session.rollback()
            session.execute(delete(self.model).where(unanswered))
            session.commit()
        except Exception:
            session.rollback()
            log.warning("an Idempotency-Key of user %s could not be let go", user_id)


def refused(error: Exception) -> bool:
    """Whether the request is answered a 4xx for `error` (as the kit's error handlers answer
    it): the request itself was wrong or conflicts, and nothing the command stored under its
    key is worth resuming. Any other error is a 5xx."""
    if isinstance(error, Problem):
        return error.status < 500
    if isinstance(error, HTTPException):
        return (error.code or 500) < 500
    return isinstance(error, (IntegrityError, DataError, ObjectDeletedError, StaleDataError))
