"""Test support shared by every service's suite: a real PostgreSQL laid out as `make up` lays it
out, apps migrated with their real Alembic history, and tokens signed like auth signs them."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import psycopg
import requests
from flask import Flask
from flask_migrate import upgrade
from psycopg import sql
from sqlalchemy import event, text
from werkzeug.serving import make_server

from .keys import ensure_keypair
from .postgres import SERVICES, Cluster, provision

DATABASE = "feira_test"


@dataclass
class TestDatabase:
    superuser_dsn: str
    host: str
    port: int
    passwords: dict[str, str]

    def url(self, service: str) -> str:
        password = self.passwords[service]
        return f"postgresql+psycopg://{service}:{password}@{self.host}:{self.port}/{DATABASE}"


def start_database():
    """Yield a provisioned database: FEIRA_TEST_DATABASE_URL (a superuser DSN) when set, else a
    throwaway cluster booted with the same code as `make up`."""
    passwords = {service: uuid.uuid4().hex for service in SERVICES}
    external = os.environ.get("FEIRA_TEST_DATABASE_URL")
    if external:
        info = psycopg.conninfo.conninfo_to_dict(external)
        provision(external, DATABASE, passwords)
        let_roles_empty_tables_fast(external, passwords)
        yield TestDatabase(
            external, info.get("host", "127.0.0.1"), int(info.get("port", 5432)), passwords
        )
        return
    base = Path(tempfile.mkdtemp(prefix="feira-test-pg-"))
    base.chmod(0o755)
    cluster = Cluster(
        datadir=base / "data", port=free_port(), socket_dir=base / "sock", durable=False
    )
    cluster.init()
    logfile = Path(tempfile.gettempdir()) / f"{base.name}.log"
    cluster.start(logfile=logfile)
    try:
        cluster.wait()
        provision(cluster.dsn, DATABASE, passwords)
        let_roles_empty_tables_fast(cluster.dsn, passwords)
        yield TestDatabase(cluster.dsn, "127.0.0.1", cluster.port, passwords)
    finally:
        # Its data is removed next: a fast stop's checkpoint would write the run's dirty buffers
        # (up to shared_buffers) for nothing, 13 s at the end of a full run before the cluster
        # stopped waiting for the disk, some still after.
        cluster.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
    # Kept when the cluster would not start, to say why; else one per pytest run piles up.
    logfile.unlink(missing_ok=True)


def let_roles_empty_tables_fast(superuser_dsn: str, roles) -> None:
    """The test database's one privilege beyond the stack's: each service's role may turn its
    triggers and foreign keys off for a transaction (`truncate_all`)."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        for role in roles:
            conn.execute(
                sql.SQL("GRANT SET ON PARAMETER session_replication_role TO {}").format(
                    sql.Identifier(role)
                )
            )


def free_port() -> int:
    """A port nothing listens on: bound once to learn it, then let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_url() -> str:
    """A base URL for a service that is down (connection refused at once)."""
    return f"http://127.0.0.1:{free_port()}"


def make_keys(directory: Path) -> dict[str, str]:
    private, public = directory / "jwt_private.pem", directory / "jwt_public.pem"
    ensure_keypair(private, public)
    return {"JWT_PRIVATE_KEY": private.read_text(), "JWT_PUBLIC_KEY": public.read_text()}


# What every test app signs and checks events with, unless a test says otherwise.
OUTBOX_SECRET = "test-outbox-secret"  # noqa: S105 (tests only)
# argon2id at OWASP's minimum (stack/test.env too): a seventh of the default profile's cost.
TEST_PASSWORD_HASH = {
    "ARGON2_MEMORY_KIB": 19456,
    "ARGON2_TIME_COST": 2,
    "ARGON2_PARALLELISM": 1,
}


def service_keys(service: str) -> dict[str, str]:
    """The service credential keys a test app holds, as the stack gives them: its own, and those
    of the services the registry lets call its internal routes."""
    from services.registry import BY_NAME

    known = BY_NAME.get(service)
    callers = {name for route in known.internal for name in route.callers} if known else set()
    return {name: f"test-{name}-service-key" for name in {service, *callers}}


def from_service(caller: str, receiver: str, headers: dict | None = None) -> dict[str, str]:
    """`headers` plus `caller`'s credential (its test key) for a call to `receiver`'s internal
    routes, as the kit's HTTP client adds it."""
    from .security import CREDENTIAL_HEADER, STATIC_CALLERS, sign_credential

    key = f"test-{caller}-service-key"
    # The gateway cannot sign: it sends its key as it is (kit.security.STATIC_CALLERS).
    credential = (
        f"{caller}.{key}" if caller in STATIC_CALLERS else sign_credential(key, caller, receiver)
    )
    return {**(headers or {}), CREDENTIAL_HEADER: credential}


def build_app(create_app, service: str, database: TestDatabase, keys: dict, **config) -> Flask:
    """The service's app on the test database, migrated to head with its Alembic history."""
    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database.url(service),
        "JWT_PUBLIC_KEY": keys["JWT_PUBLIC_KEY"],
        "LOG_LEVEL": "WARNING",
        # Wired explicitly by each test, never from the environment the tests run in.
        "SERVICE_URLS": {},
        "OUTBOX_SUBSCRIBERS": {},
        "OUTBOX_SECRET": OUTBOX_SECRET,
        # Tokens forged by access_token() have no session in any auth: a test that checks
        # sessions serves auth and passes SESSION_CHECK=True with its URL.
        "SESSION_CHECK": False,
        "SERVICE_KEYS": service_keys(service),
        **config,
    }
    if service == "auth":
        settings["JWT_PRIVATE_KEY"] = keys["JWT_PRIVATE_KEY"]
        settings = {**TEST_PASSWORD_HASH, **settings}
    app = create_app(settings)
    with app.app_context():
        upgrade()
    return app


@contextmanager
def pool_sized_app(
    create_app, service: str, database: TestDatabase, keys: dict, threads: int, **config
) -> Iterator[Flask]:
    """`build_app` with a pool for `threads` requests at once (`at_once` with as many copies),
    two connections each, as a process's pool is sized: a request's session and a keyed POST's
    advisory lock. A test app's default pool would make them queue for a connection instead of
    racing. Its connections are closed when the block ends."""
    pool = {
        "pool_size": threads,
        "max_overflow": threads,
        "pool_timeout": 5,
        "hide_parameters": True,
    }
    app = build_app(create_app, service, database, keys, SQLALCHEMY_ENGINE_OPTIONS=pool, **config)
    try:
        yield app
    finally:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


@contextmanager
def rewired(app: Flask, **config) -> Iterator[Flask]:
    """`app` with these settings for a block (`SERVICE_URLS`, `SERVICE_KEYS`, `HTTP_RETRIES`),
    its clients for other services made afresh from them, and all of it put back after."""
    kept = {key: app.config[key] for key in config}
    clients = app.extensions["feira"]._clients
    app.config.update(config)
    clients.clear()
    try:
        yield app
    finally:
        app.config.update(kept)
        clients.clear()


def kit_app(name: str, db, blueprint, database: TestDatabase, keys: dict, **config) -> Flask:
    """A bare app built by the kit around one test blueprint, or none (the kit's own tests), on
    auth's role of the test database, with forged tokens accepted (no session check)."""
    from .app import create_service_app

    app, api = create_service_app(
        "auth",
        name,
        db=db,
        config={
            "SQLALCHEMY_DATABASE_URI": database.url("auth"),
            "JWT_PUBLIC_KEY": keys["JWT_PUBLIC_KEY"],
            "SESSION_CHECK": False,
            **config,
        },
    )
    if blueprint is not None:
        api.register_blueprint(blueprint)
    return app


class LiveServer:
    """A service's app on a real local port (werkzeug, in a thread), for tests where one service
    calls another over HTTP. `port=0` picks a free one; a stopped server's port brings it back."""

    def __init__(self, app: Flask, port: int = 0):
        self.app = app
        self.httpd = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.httpd.server_port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# What `proxy_before` does with a POST its `verdict` marks so: passes it on and closes the
# connection instead of answering (the upstream did the work; the caller never heard of it).
LOSE = "lose"


@contextmanager
def proxy_before(
    upstream: str, verdict: Callable[[str], int | str | None]
) -> Iterator[tuple[str, list[str]]]:
    """A proxy in front of `upstream` for a block. Each POST's path goes to `verdict`: None
    passes it on and relays the answer; LOSE passes it on and closes the connection instead of
    answering, as when a kept-alive connection is closed under a call in flight or the read
    times out; a status answers that (an empty JSON object) without the upstream seeing it.
    Yields the proxy's URL and what the upstream answered each POST it saw, as
    `"<path> <status>"`."""
    seen: list[str] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            decided = verdict(self.path)
            if isinstance(decided, int):
                status, content, kind = decided, b"{}", "application/json"
            else:
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                answer = requests.post(upstream + self.path, data=body, headers=headers, timeout=30)
                seen.append(f"{self.path} {answer.status_code}")
                if decided == LOSE:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, content = answer.status_code, answer.content
                kind = answer.headers.get("Content-Type", "application/json")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{proxy.server_port}", seen
    finally:
        proxy.shutdown()
        proxy.server_close()


def losing_the_first_answer(upstream: str):
    """`proxy_before` losing the answer to the first POST only."""
    posts = itertools.count(1)
    return proxy_before(upstream, lambda path: LOSE if next(posts) == 1 else None)


def at_once(app: Flask, work: Callable[[], Any], copies: int = 2) -> list:
    """`work()` run by `copies` threads released together, each in its own app context and
    session (as copies of a process on one database): what each returned, in the order they
    finished. When a copy raised, the first such exception is raised once all have ended."""
    answers: list = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(copies)
    db = app.extensions["sqlalchemy"]

    def copy():
        with app.app_context():
            barrier.wait()
            try:
                answers.append(work())
            except BaseException as failure:  # raised again in the calling thread, below
                failures.append(failure)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=copy) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return answers


def answered_behind(app: Flask, holder, work: Callable[[], Any], *, waiters: int = 1) -> Any:
    """`work()` run in a thread of its own (its own app context and session) while `holder`, a
    connection in a transaction that wrote or locked rows, keeps them: once `work` waits for a
    lock the holder has (or ends without waiting), the holder commits. What `work` returned is
    answered, or what it raised is raised: one side of a race taken at the moment it matters.
    `waiters`: how many statements must be waiting first, for a `work` that is copies run
    `at_once` (so each has read the row, or queued for its lock, before any goes on)."""
    answers: list = []
    failures: list[BaseException] = []
    db = app.extensions["sqlalchemy"]
    holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def copy():
        with app.app_context():
            try:
                answers.append(work())
            except BaseException as failure:  # raised again in the calling thread, below
                failures.append(failure)
            finally:
                db.session.remove()

    thread = threading.Thread(target=copy)
    thread.start()
    # Waiting on the holder, or queued behind one that is (a row lock's second waiter waits on
    # the first, which holds the tuple's lock).
    waiting = text(
        "WITH RECURSIVE behind(pid) AS ("
        " SELECT pid FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"
        " UNION SELECT waiter.pid FROM pg_stat_activity waiter"
        " JOIN behind ON behind.pid = ANY(pg_blocking_pids(waiter.pid))"
        ") SELECT count(*) FROM behind"
    )
    deadline = time.monotonic() + 10
    with app.app_context(), db.engine.connect() as watcher:
        while thread.is_alive() and time.monotonic() < deadline:
            if watcher.execute(waiting, {"holder": holder_pid}).scalar_one() >= waiters:
                break
            watcher.rollback()
            time.sleep(0.01)
    holder.commit()
    thread.join()
    if failures:
        raise failures[0]
    return answers[0]


def racing_patches(app, url: str, headers: dict, changes: list[dict], row) -> list[int]:
    """PATCHes of `url` with these `changes`, each sent with `headers` and the tag its GET
    answers now (If-Match), released at once while another transaction holds `row` (a SELECT of
    the resource's row) FOR UPDATE, which lets go once all wait on it: so each has read the row,
    or queued for its lock, before any writes. Their statuses, sorted: checked under the row's
    lock, `[200, 412]` for two."""
    sent = {**headers, "If-Match": app.test_client().get(url, headers=headers).headers["ETag"]}
    waiting = list(changes)

    def patch():
        return app.test_client().patch(url, json=waiting.pop(), headers=sent).status_code

    def patches():
        return at_once(app, patch, copies=len(changes))

    with app.app_context(), app.extensions["sqlalchemy"].engine.connect() as holder:
        holder.execute(row.with_for_update())
        return sorted(answered_behind(app, holder, patches, waiters=len(changes)))


@contextmanager
def changed_after_reading(
    app: Flask, table: str, changes: list[str], params: dict, *, after_commit: bool = False
) -> Iterator[list[str]]:
    """For the block, another transaction commits `changes` (SQL run with `params`) right after
    the first plain SELECT of `table` (`schema.table`; not one FOR UPDATE) the app's engine runs,
    and, `after_commit`, only once a transaction of the app has committed (a write reads its
    answer after its own commit): a change landing between the statements an answer is read
    in. Yields the statement it followed, once made: empty, the change never was."""
    changed: list[str] = []
    committed = [not after_commit]
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine

    def arm(conn):
        committed[0] = True

    def change_after(conn, cursor, statement, *args):
        if changed or not committed[0] or f"FROM {table}" not in statement:
            return
        if "FOR UPDATE" in statement:
            return
        changed.append(statement)
        with engine.begin() as other:
            for change in changes:
                other.execute(text(change), params)

    event.listen(engine, "commit", arm)
    event.listen(engine, "after_cursor_execute", change_after)
    try:
        yield changed
    finally:
        event.remove(engine, "after_cursor_execute", change_after)
        event.remove(engine, "commit", arm)


def chore_asked_while_running(app: Flask, outbox, index: int) -> list[bool]:
    """The outbox chore `index` held inside its first run (one relay copy) while a second copy
    asks for it (`run_chore`): what each answered, the second first. One at a time is
    `[False, True]`."""
    original = outbox.chores[index][1]
    started, release = threading.Event(), threading.Event()
    answers: list[bool] = []
    db = app.extensions["sqlalchemy"]

    def held():
        started.set()
        release.wait(5)
        original()

    def copy():
        with app.app_context():
            try:
                answers.append(outbox.run_chore(index))
            finally:
                db.session.remove()

    outbox.chores[index][1] = held
    try:
        first = threading.Thread(target=copy)
        first.start()
        assert started.wait(5), "the first copy never began the chore"
        copy()
        release.set()
        first.join()
    finally:
        release.set()
        outbox.chores[index][1] = original
    return answers


# The sequences of the tables named, each set back to its start (what TRUNCATE's RESTART IDENTITY
# does, without changing the sequence's file).
_RESTART_SEQUENCES = text("""
    SELECT setval(s.seqrelid, s.seqstart, false)
    FROM pg_sequence s
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    WHERE d.refobjid = ANY(CAST(:tables AS text[])::regclass[])
""")


def truncate_all(app: Flask) -> None:
    """Empty every table of the service's schema (not Alembic's), and start their sequences
    again, between tests.

    DELETE, with triggers and foreign keys off for the transaction, not TRUNCATE: a TRUNCATE
    gives every table and index a new file and makes every open connection read the tables'
    definitions again, 10-20 times the cost of deleting a test's few rows (143 ms against 12 ms
    for orders' suite's four services, empty, 2026-12-07), before every test."""
    db = app.extensions["sqlalchemy"]
    tables = [f'"{table.schema}"."{table.name}"' for table in db.metadata.sorted_tables]
    with app.app_context():
        db.session.remove()
        if tables:
            with db.engine.begin() as connection:
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (model names)
                connection.execute(_RESTART_SEQUENCES, {"tables": tables})


def access_token(
    keys: dict,
    user_id: int = 1,
    role: str = "user",
    email: str | None = None,
    expires_in: timedelta = timedelta(minutes=15),
) -> str:
    """A token as auth would sign it, for testing the other services on their own."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role,
        "email": email or f"user{user_id}@example.com",
        "sid": str(uuid.uuid4()),
        "type": "access",
        "fresh": False,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "iss": "feira-auth",
    }
    return signed(claims, keys)


def signed(claims: dict, keys: dict, headers: dict | None = None) -> str:
    """`claims` signed with the test key pair's private key, as auth signs: RS256, the key's
    thumbprint as `kid` (the verifiers choose their key by it)."""
    from .security import signing_key_id

    return jwt.encode(
        claims,
        keys["JWT_PRIVATE_KEY"],
        algorithm="RS256",
        headers={"kid": signing_key_id(keys["JWT_PRIVATE_KEY"]), **(headers or {})},
    )


def session_assertion(
    keys: dict, token: str, issued: int | None = None, headers: dict | None = None
) -> str:
    """auth's session assertion for `token` (what the gateway passes on), signed as auth's
    session_assertion signs it, `issued` at that time (now unless given)."""
    from . import security

    issued = int(time.time()) if issued is None else issued
    claims = {
        "type": security.ASSERTION_TYPE,
        "tok": security.token_digest(token),
        "iat": issued,
        "exp": issued + 5 + 1,
        "iss": "feira-auth",
    }
    return signed(claims, keys, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def event_body(event_type: str, data: dict, event_id: str | None = None) -> bytes:
    """An event as a producer's relay sends it."""
    return json.dumps(
        {"id": event_id or str(uuid.uuid4()), "type": event_type, "data": data}
    ).encode()


def deliver(app: Flask, event_type: str, data: dict, event_id: str | None = None):
    """POST an event, signed with the test secret, to the app's inbox, as a relay would; the
    answer is returned whatever it is."""
    return _post_events(app, event_body(event_type, data, event_id))


def deliver_batch(app: Flask, events: list[tuple[str, dict]], event_ids: list[str] | None = None):
    """POST (type, data) events as one batch, each with a new id (or those given: a body
    delivered again), as a relay sends what is due for a subscriber; the answer carries a status
    per event, in order."""
    ids = event_ids or [str(uuid.uuid4()) for _ in events]
    body = [
        {"id": event_id, "type": event_type, "data": data}
        for event_id, (event_type, data) in zip(ids, events, strict=True)
    ]
    return _post_events(app, json.dumps(body).encode())


def _post_events(app: Flask, body: bytes):
    from .outbox import signature

    return app.test_client().post(
        "/internal/events",
        data=body,
        headers={
            "X-Feira-Signature": signature(OUTBOX_SECRET, body),
            "Content-Type": "application/json",
        },
    )


@contextmanager
def running_nginx(options: list[str], base_url: str, stdout=subprocess.DEVNULL) -> Iterator[str]:
    """A real nginx run with these command-line options (its configuration, a prefix) until the
    block ends, once it answers `/health` at `base_url`; skips the test when nginx is missing."""
    import pytest

    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed")
    process = subprocess.Popen(
        [binary, *options, "-e", "stderr", "-g", "daemon off;"],
        stdout=stdout,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                requests.get(f"{base_url}/health", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
