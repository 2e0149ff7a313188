"""A private PostgreSQL cluster and the database layout: one schema and one login role per service.

`make up` (through `stack.postgres`) and the pytest fixtures (`services.kit.testing`) both use this
module, so tests run against the same layout. It lives in the kit because the kit's test support
needs it and the kit never imports the stack; the stack imports the kit.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from services.kit.private import private_dir
from services.registry import NAMES

# A schema and a login role per registry service.
SERVICES = NAMES
# unaccent: clients' name search (an IMMUTABLE wrapper in its schema, clients.unaccent_lower).
EXTENSIONS = ("pg_trgm", "citext", "unaccent")
# The longest Unix socket path PostgreSQL and libpq take: sun_path's 108 bytes, less the NUL.
SOCKET_PATH_MAX = 107


def pg_bin(name: str) -> str:
    """Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<major>/bin."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(
        f"{name} not found: install PostgreSQL (sudo apt-get install -y postgresql)"
    )


def server_user() -> str | None:
    """Postgres refuses to run as root; as root we run it as an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is no 'postgres' account to run the server as")


def reachable_by(user: str, path: Path) -> bool:
    """Can `user` get to `path` through every parent directory?"""
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(path)], check=False)
    return probe.returncode == 0


def as_server_user(command: list[str]) -> list[str]:
    user = server_user()
    return ["runuser", "-u", user, "--", *command] if user else command


def socket_path(socket_dir: Path, port: int) -> Path:
    """Where the server listens in `socket_dir`; a path over SOCKET_PATH_MAX bytes it refuses."""
    return socket_dir / f".s.PGSQL.{port}"


def socket_fits(socket_dir: Path, port: int) -> bool:
    """Does PostgreSQL take its socket in `socket_dir`: a path of at most SOCKET_PATH_MAX bytes?"""
    return len(os.fsencode(socket_path(socket_dir, port))) <= SOCKET_PATH_MAX


# A cluster of tests, thrown away after them: commits do not wait for the disk. What every
# session sees is the same; only a crash of the machine could lose data, which then does not
# matter. A quarter of the pytest suites' time went to waiting for fsync.
NOT_DURABLE = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


@dataclass
class Cluster:
    datadir: Path
    port: int
    socket_dir: Path
    superuser: str = "feira"
    # False for a cluster of tests, thrown away after them (NOT_DURABLE).
    durable: bool = True

    def __post_init__(self) -> None:
        # Postgres would exit FATAL at start, and the caller would only see a wait time out.
        if not socket_fits(self.socket_dir, self.port):
            path = socket_path(self.socket_dir, self.port)
            raise ValueError(
                f"the PostgreSQL socket {path} would be {len(os.fsencode(path))} bytes long;"
                f" a Unix socket path takes at most {SOCKET_PATH_MAX}"
            )

    @property
    def dsn(self) -> str:
        return f"host={self.socket_dir} port={self.port} user={self.superuser} dbname=postgres"

    @property
    def home(self) -> Path:
        """The directory holding the data (the socket's too, unless it was put elsewhere for a
        shorter path): the server's working directory, since the caller's (a checkout in a
        mode-700 home) may be closed to the server account."""
        return self.datadir.parent

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        """Make the data and socket directories private to the server, then initdb (unless
        done) with trust on the socket (guarded by that directory's mode) and scram on TCP. Run
        before every start: the socket directory may have moved (stack.processes.cluster) or been
        swept from /var/tmp since the cluster was made."""
        for path in (self.datadir, self.socket_dir):
            self._hand_over(path)
        if self.initialised():
            return
        subprocess.run(
            as_server_user(
                [
                    pg_bin("initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    self.superuser,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=self.home,
        )
        self.datadir.chmod(0o700)

    def _hand_over(self, path: Path) -> None:
        """`path` made a mode-700 directory of the server account's, never through a link: as
        root, a link planted there would have us chown its target to that account."""
        user = server_user()
        entry = pwd.getpwnam(user) if user else None
        private_dir(
            path,
            (entry.pw_uid, entry.pw_gid) if entry else None,
            holds="a PostgreSQL cluster's data or socket",
        )
        if user and not reachable_by(user, path):
            raise RuntimeError(f"{path} is not reachable by '{user}'")

    def server_command(self) -> list[str]:
        """The foreground server command (supervisord runs this)."""
        settings = [
            "listen_addresses=127.0.0.1",
            "max_connections=200",
            "shared_buffers=256MB",
            *(("fsync=on",) if self.durable else NOT_DURABLE),
            # A failed statement's DETAIL quotes the values (a duplicate CPF): log only fatal.
            "log_min_messages=fatal",
            "log_error_verbosity=terse",
            "log_statement=none",
        ]
        return [
            pg_bin("postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            *(argument for setting in settings for argument in ("-c", setting)),
        ]

    def start(self, logfile: Path) -> None:
        """Start in the background with pg_ctl (for tests; `make up` uses supervisord)."""
        options = " ".join(self.server_command()[3:])
        subprocess.run(
            as_server_user(
                [
                    pg_bin("pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(logfile),
                    "-w",
                    "-o",
                    options,
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=self.home,
        )

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl's stop `mode`: "fast" writes a shutdown checkpoint (every dirty buffer);
        "immediate" writes nothing, for a cluster whose data is removed next."""
        subprocess.run(
            as_server_user([pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", mode, "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.home,
        )

    def wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def provision(superuser_dsn: str, database: str, passwords: dict[str, str]) -> None:
    """Create the database, the shared extensions and, per service, a role that owns one schema.

    Idempotent: run on every `make up`. A role may connect to the database and use its own
    schema and the `extensions` schema, nothing else.
    """
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
        )
        for service, password in passwords.items():
            role = sql.Identifier(service)
            found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (service,)).fetchone()
            verb = "ALTER" if found else "CREATE"
            conn.execute(
                sql.SQL(
                    verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"
                ).format(role, sql.Literal(password))
            )
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role)
            )

    target = psycopg.conninfo.make_conninfo(superuser_dsn, dbname=database)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute("CREATE SCHEMA IF NOT EXISTS extensions")
        for extension in EXTENSIONS:
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA extensions").format(
                    sql.Identifier(extension)
                )
            )
        for service in passwords:
            role = sql.Identifier(service)
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(role, role)
            )
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA extensions TO {}").format(role))
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}, extensions").format(
                    role, sql.Identifier(database), role
                )
            )
