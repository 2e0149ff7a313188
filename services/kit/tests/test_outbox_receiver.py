"""The outbox receiver facing a transaction PostgreSQL aborts (a body whose transaction is chosen
as a deadlock's victim is taken again, pinned on a real deadlock between a handler and another
connection), a handler that fails mid-body and a malformed signature header, on a small app
built by kit_app."""

import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import Unavailable, make_db
from services.kit import outbox as outbox_module
from services.kit.outbox import Outbox, reaches_outside
from services.kit.testing import (
    DATABASE,
    OUTBOX_SECRET,
    deliver,
    deliver_batch,
    event_body,
    kit_app,
)

db = make_db("auth")
outbox = Outbox(db)
# The advisory locks the handler takes in this order, and the other connection in the other.
FIRST, SECOND = 7_340_001, 7_340_002
LOCK = text("SELECT pg_advisory_xact_lock(:key)")
# Every wait of these tests ends within this many seconds, whatever goes wrong.
PATIENCE = 15
# The other connection's deadlock_timeout: far past the handler's (1 s), so only the handler's
# backend ever looks for the deadlock, and it aborts itself.
CROSSING_DEADLOCK_TIMEOUT = 5
# How each run of the handler ended: the SQLSTATE it was aborted with, or "wrote".
RUNS: list[str] = []


class Made(db.Model):
    __tablename__ = "receiver_made"
    n: Mapped[int] = mapped_column(primary_key=True)


def on_made(data: dict) -> None:
    try:
        db.session.execute(LOCK, {"key": FIRST})
        db.session.execute(LOCK, {"key": SECOND})
    except OperationalError as exc:
        RUNS.append(exc.orig.sqlstate)
        raise
    db.session.add(Made(n=data["n"]))
    RUNS.append("wrote")


# What the handlers that reach outside did: each mail "sent", and how often the refusing one ran.
MAILED: list[int] = []
REFUSALS: list[int] = []


def on_mailed(data: dict) -> None:
    MAILED.append(data["n"])


def on_refused(data: dict) -> None:
    """A mail server that refuses for now, the first time only."""
    REFUSALS.append(data["n"])
    if len(REFUSALS) == 1:
        raise Unavailable("The mail server refused for now")
    db.session.add(Made(n=data["n"]))


@pytest.fixture(scope="module")
def app(database, jwt_keys):
    app = kit_app(
        __name__, db, None, database, jwt_keys, OUTBOX_SECRET=OUTBOX_SECRET, OUTBOX_SUBSCRIBERS={}
    )
    outbox.receiver(
        app,
        # The same handler taken as a plain one and, with a savepoint, as one reaching outside.
        {
            "widget.made": on_made,
            "widget.sent": reaches_outside(lambda data: on_made(data)),
            "widget.mailed": reaches_outside(on_mailed),
            "widget.refused": reaches_outside(on_refused),
        },
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()


@pytest.fixture(autouse=True)
def empty_tables(app):
    RUNS.clear()
    MAILED.clear()
    REFUSALS.clear()
    with app.app_context():
        db.session.execute(text("TRUNCATE processed_events, receiver_made"))
        db.session.commit()


class Crossing(threading.Thread):
    """Another connection that holds SECOND, waits until the handler (holding FIRST) waits for
    it, then asks for FIRST: a deadlock. Postgres aborts the backend whose own wait, once it
    has lasted that backend's deadlock_timeout, finds the deadlock. This connection (the
    superuser's: auth's role cannot change deadlock_timeout) waits CROSSING_DEADLOCK_TIMEOUT
    before looking, so the handler, looking after 1 s, is always the one aborted; this
    connection then gets FIRST and lets both go."""

    def __init__(self, dsn: str):
        super().__init__(daemon=True)
        self.dsn = dsn
        self.holding = threading.Event()
        self.crossed = False
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn, dbname=DATABASE) as connection:
                connection.execute(f"SET LOCAL lock_timeout = '{PATIENCE}s'")
                connection.execute(f"SET LOCAL deadlock_timeout = '{CROSSING_DEADLOCK_TIMEOUT}s'")
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (SECOND,))
                self.holding.set()
                deadline = time.monotonic() + PATIENCE
                while not self.waited_for(connection, SECOND):
                    if time.monotonic() > deadline:
                        return  # leaving frees SECOND: the handler goes on, and the test fails
                    time.sleep(0.01)
                self.crossed = True
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (FIRST,))
                connection.rollback()
        except Exception as exc:
            self.error = exc

    @staticmethod
    def waited_for(connection, key: int) -> bool:
        return connection.execute(
            "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND objid::bigint = %s AND NOT granted)",
            (key,),
        ).fetchone()[0]


def delivered_into_a_deadlock(app, database, event_type: str = "widget.made"):
    """POST an event whose handler's first run is a deadlock's victim; the answer."""
    crossing = Crossing(database.superuser_dsn)
    crossing.start()
    assert crossing.holding.wait(PATIENCE), "the other connection took SECOND"
    answer = deliver(app, event_type, {"n": 1})
    crossing.join(PATIENCE)
    assert not crossing.is_alive()
    assert crossing.crossed and crossing.error is None, (
        f"the other connection asked for FIRST while the handler waited ({crossing.error!r})"
    )
    return answer


def made(app) -> list[int]:
    with app.app_context():
        return db.session.scalars(select(Made.n)).all()


def processed(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count()).select_from(outbox.Processed))


@pytest.mark.parametrize("event_type", ["widget.made", "widget.sent"])
def test_a_body_whose_transaction_is_a_deadlock_victim_is_taken_again_and_processed(
    app, database, event_type
):
    answer = delivered_into_a_deadlock(app, database, event_type)

    assert RUNS == ["40P01", "wrote"], "aborted as the deadlock's victim, then run again"
    assert answer.status_code == 200
    assert answer.json == {"status": "processed"}
    assert made(app) == [1]
    assert processed(app) == 1


def test_a_body_still_a_deadlock_victim_on_its_last_attempt_is_a_503_the_relay_delivers_again(
    app, database, monkeypatch
):
    """What every deadlock's victim was answered before the receiver took a body again."""
    monkeypatch.setattr(outbox_module, "RECEIVE_ATTEMPTS", 1)

    answer = delivered_into_a_deadlock(app, database)

    assert RUNS == ["40P01"]
    assert answer.status_code == 503
    assert made(app) == []
    assert processed(app) == 0, "nothing kept: the relay's redelivery is taken afresh"


def test_a_careful_body_that_fails_mid_way_keeps_what_reached_outside_before_it(app):
    """The relay posts two events together; the first one's mail is sent, the second one's mail
    server refuses for now (a 503). Redelivered, the body must not mail the first again: it is
    kept, with its id, and only the second is taken again."""
    body = [("widget.mailed", {"n": 1}), ("widget.refused", {"n": 2})]
    ids = [str(uuid.uuid4()) for _ in body]

    first = deliver_batch(app, body, ids)
    again = deliver_batch(app, body, ids)

    assert first.status_code == 503
    assert again.status_code == 200
    assert again.json == {"statuses": ["duplicate", "processed"]}
    assert MAILED == [1], "the first event's mail went once"
    assert REFUSALS == [2, 2]
    assert made(app) == [2]
    assert processed(app) == 2


@pytest.mark.parametrize("forged", ["sha256=\xe9", "sha256=\udce9"])
def test_a_signature_header_with_non_ascii_characters_is_refused_not_a_500(app, forged):
    """gunicorn lets bytes 0x80-0xFF through in a header value; such a signature is just wrong."""
    body = event_body("widget.made", {"n": 1})

    answer = app.test_client().post(
        "/internal/events", data=body, headers={"X-Feira-Signature": forged}
    )

    assert answer.status_code == 401
    assert answer.json["detail"] == "The event signature does not match"
    assert made(app) == []
