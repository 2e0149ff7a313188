"""The kit's road to Postgres: reads without transactions, writes atomic, a connection Postgres
cut replaced before a request uses it, and a live one kept."""

import psycopg
import pytest
from flask import request
from sqlalchemy import String, event, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import Blueprint, TimestampMixin, make_db
from services.kit.db import kept_after_commit, read_in_one_snapshot
from services.kit.testing import DATABASE, kit_app

PROBLEM = "application/problem+json"
db = make_db("auth")


class Thing(TimestampMixin, db.Model):
    __tablename__ = "kit_test_things"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


blp = Blueprint("things", __name__, url_prefix="/things")


def _transaction_status() -> str:
    return db.session.connection().connection.dbapi_connection.info.transaction_status.name


@blp.route("/count", methods=["GET", "POST"])
def count():
    return {"count": db.session.scalar(select(func.count()).select_from(Thing))}


@blp.route("/after-a-read", methods=["GET", "POST"])
def after_a_read():
    """What the connection's transaction looks like once a SELECT has run."""
    db.session.scalar(select(func.count()).select_from(Thing))
    return {"transaction": _transaction_status()}


@blp.route("/pair", methods=["GET"])
def pair():
    """Two inserts in two flushes; the second breaks the unique name (a 409)."""
    name = request.args["name"]
    db.session.add(Thing(name=name))
    db.session.flush()
    db.session.add(Thing(name=name))
    db.session.flush()
    db.session.commit()
    return {}


@blp.route("/one", methods=["GET"])
def one():
    db.session.add(Thing(name=request.args["name"]))
    db.session.commit()
    return {"transaction": _transaction_status()}


@blp.route("/locked", methods=["GET"])
def locked():
    """A locking read in a GET: its lock must last until the request ends."""
    db.session.execute(select(Thing).with_for_update())
    return {"transaction": _transaction_status()}


@blp.route("/autocommit", methods=["GET"])
def autocommit():
    """A connection that asks for AUTOCOMMIT itself (as idempotency's does) writes at once."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("INSERT INTO kit_test_things (name) VALUES (:n)"), {"n": "auto"})
    return {}


def _connection_state() -> dict:
    """Which connection the session reads on, and the transaction it is in."""
    pid, isolation, read_only = db.session.execute(
        text(
            "SELECT pg_backend_pid(), current_setting('transaction_isolation'), "
            "current_setting('transaction_read_only')"
        )
    ).one()
    transaction = _transaction_status()
    return {"pid": pid, "isolation": isolation, "read_only": read_only, "transaction": transaction}


@blp.route("/connection", methods=["GET", "POST"])
def connection_state():
    return _connection_state()


@blp.route("/in-one-snapshot", methods=["GET"])
def in_one_snapshot():
    """Counts the things, has another transaction add one and commit, and counts them again."""
    read_in_one_snapshot(db)
    before = db.session.scalar(select(func.count()).select_from(Thing))
    with db.engine.begin() as other:
        other.execute(text("INSERT INTO kit_test_things (name) VALUES ('meanwhile')"))
    after = db.session.scalar(select(func.count()).select_from(Thing))
    return {"before": before, "after": after}


@blp.route("/one-snapshot-state", methods=["GET"])
def one_snapshot_state():
    read_in_one_snapshot(db)
    return _connection_state()


@blp.route("", methods=["POST"])
def create():
    db.session.add(Thing(name=request.json["name"]))
    db.session.commit()
    return {}, 201


@blp.route("/kept", methods=["POST"])
def create_and_answer():
    """Stores a thing and answers with it, read after the commit as a schema's dump reads it."""
    thing = Thing(name=request.json["name"])
    with kept_after_commit(db):
        db.session.add(thing)
        db.session.commit()
    return {"id": thing.id, "name": thing.name, "created_at": thing.created_at.isoformat()}, 201


@pytest.fixture(scope="module")
def app(database, jwt_keys):
    app = kit_app(__name__, db, blp, database, jwt_keys)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()


@pytest.fixture
def client(app):
    with app.app_context():
        db.session.execute(text("TRUNCATE kit_test_things RESTART IDENTITY"))
        db.session.commit()
        db.session.remove()
    return app.test_client()


def _count(client) -> int:
    return client.get("/things/count").json["count"]


def test_a_read_in_a_get_opens_no_transaction(client):
    # No BEGIN before the SELECT and no ROLLBACK after it: one round trip.
    assert client.get("/things/after-a-read").json == {"transaction": "IDLE"}


def test_a_read_in_a_post_is_inside_its_transaction(client):
    assert client.post("/things/after-a-read").json == {"transaction": "INTRANS"}


def test_a_get_that_writes_is_atomic(client):
    response = client.get("/things/pair?name=twice")
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert _count(client) == 0


def test_a_get_that_writes_and_commits_keeps_its_row(client):
    assert client.get("/things/one?name=kept").json == {"transaction": "IDLE"}
    assert _count(client) == 1


def test_a_locking_read_in_a_get_holds_its_lock_in_a_transaction(client):
    assert client.get("/things/locked").json == {"transaction": "INTRANS"}


def test_a_connection_asking_for_autocommit_writes_at_once_in_a_get(client):
    assert client.get("/things/autocommit").status_code == 200
    assert _count(client) == 1


def test_reads_in_one_snapshot_do_not_see_a_commit_made_between_them(client):
    assert client.get("/things/in-one-snapshot").json == {"before": 0, "after": 0}
    assert _count(client) == 1  # the other transaction did commit its row


def test_one_snapshot_is_a_read_only_repeatable_read_transaction(client):
    state = client.get("/things/one-snapshot-state").json
    assert (state["isolation"], state["read_only"]) == ("repeatable read", "on")
    assert state["transaction"] == "INTRANS"


def test_one_snapshot_asked_after_a_read_is_an_error_not_ignored(app):
    with app.test_request_context("/things", method="GET"):
        db.session.scalar(select(func.count()).select_from(Thing))
        with pytest.raises(RuntimeError, match="before the transaction's first statement"):
            read_in_one_snapshot(db)
        db.session.remove()


def test_a_connection_read_in_one_snapshot_goes_back_to_the_pool_as_it_came(app, client):
    with app.app_context():
        db.engine.dispose()  # the pool holds the one connection the requests below share
    snapshot = client.get("/things/one-snapshot-state").json
    after_it = {
        method: client.open("/things/connection", method=method).json for method in ("GET", "POST")
    }
    assert {state["pid"] for state in after_it.values()} == {snapshot["pid"]}
    # The next GET reads in autocommit again, a POST in a READ COMMITTED transaction that writes.
    expected = {"isolation": "read committed", "read_only": "off"}
    assert after_it["GET"] == {**expected, "pid": snapshot["pid"], "transaction": "IDLE"}
    assert after_it["POST"] == {**expected, "pid": snapshot["pid"], "transaction": "INTRANS"}


def test_a_row_kept_after_its_commit_answers_with_no_statement_after_the_insert(app, client):
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/things/kept", json={"name": "answered"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 201 and response.json["id"] and response.json["created_at"]
    # The INSERT returned the id and the server's timestamps: nothing is read back.
    assert statements == ["INSERT"]


def _fill_the_pool(app, size: int) -> None:
    """Check out `size` connections at once and give them back, so the pool holds that many."""
    with app.app_context():
        connections = [db.engine.connect() for _ in range(size)]
        for connection in connections:
            connection.execute(text("SELECT 1"))
        for connection in connections:
            connection.close()


def _drop_the_services_connections(database) -> int:
    """What a Postgres restart does to a service: every connection it holds is cut."""
    with psycopg.connect(database.superuser_dsn, dbname=DATABASE, autocommit=True) as admin:
        return len(
            admin.execute(
                # The 5 s wait: each backend has ended (and written its FATAL) on return.
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE usename = 'auth' AND datname = %s AND pid <> pg_backend_pid()",
                (DATABASE,),
            ).fetchall()
        )


@pytest.mark.parametrize("method, success", [("GET", 200), ("POST", 201)])
def test_after_postgres_drops_the_connections_every_request_succeeds(
    app, client, database, method, success
):
    _fill_the_pool(app, 3)
    assert _drop_the_services_connections(database) >= 3
    answers = [
        client.get("/things/count")
        if method == "GET"
        else client.post("/things", json={"name": f"after-the-cut-{n}"})
        for n in range(5)
    ]
    # Each cut connection is seen at checkout and replaced: not even the first request fails.
    assert [answer.status_code for answer in answers] == [success] * len(answers), [
        answer.get_data(as_text=True) for answer in answers
    ]


def test_a_live_pooled_connection_is_kept_not_replaced(app, client):
    _fill_the_pool(app, 2)
    with app.app_context():
        engine = db.engine
    opened = []

    def record(*args):
        opened.append(args)

    event.listen(engine, "connect", record)
    try:
        answers = [client.get("/things/count") for _ in range(5)]
        answers += [client.post("/things", json={"name": f"kept-{n}"}) for n in range(5)]
    finally:
        event.remove(engine, "connect", record)
    assert [answer.status_code for answer in answers] == [200] * 5 + [201] * 5
    # The check at checkout finds nothing to read on a live connection: no new connection opened.
    assert opened == []
