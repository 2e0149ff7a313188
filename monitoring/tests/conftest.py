import contextlib
import socket
import threading

import pytest

from monitoring import create_app
from services.kit.testing import build_app, free_port, truncate_all


@pytest.fixture(scope="session")
def app(database, jwt_keys):
    # Every request computes afresh; test_api checks the cache on its own.
    return build_app(create_app, "monitoring", database, jwt_keys, STATUS_CACHE_SECONDS=0)


@pytest.fixture
def session(app):
    """The monitoring schema, empty, inside an app context."""
    truncate_all(app)
    db = app.extensions["sqlalchemy"]
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def web(app, session):
    return app.test_client()


class DatabaseLink:
    """The way to the test database, through a TCP relay that can go down: `down()` cuts every
    connection through it and refuses new ones, as a Postgres that stopped does (its sessions,
    and the advisory locks they held, end); `up()` lets connections through again."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            if listener is not None:
                listener.close()
            for connection in self._sockets:
                _cut(connection)
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    _cut(client)
                    _cut(server)
                    continue
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_relay, args=(source, sink), daemon=True).start()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _cut(sink)


def _cut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


@pytest.fixture
def link(database):
    """A way to the test database that a test can cut (DatabaseLink), up at the start."""
    way = DatabaseLink(database.host, database.port)
    way.up()
    yield way
    way.down()


@pytest.fixture
def linked_app(link, database, jwt_keys):
    """The monitoring app reaching its database through `link`."""
    url = database.url("monitoring").replace(f":{database.port}/", f":{link.port}/")
    linked = build_app(create_app, "monitoring", database, jwt_keys, SQLALCHEMY_DATABASE_URI=url)
    yield linked
    with linked.app_context():
        linked.extensions["sqlalchemy"].engine.dispose()
