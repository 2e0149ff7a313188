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

from services.registry import NAMES

# A schema and a login role per registry service.
SERVICES = NAMES
EXTENSIONS = ("pg_trgm", "citext")


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


@dataclass
class Cluster:
    datadir: Path
    port: int
    socket_dir: Path
    superuser: str = "feira"

    @property
    def dsn(self) -> str:
        return f"host={self.socket_dir} port={self.port} user={self.superuser} dbname=postgres"

    @property
    def home(self) -> Path:
        """The directory holding the data and the socket: the server's working directory, since
        the caller's (a checkout in a mode-700 home) may be closed to the server account."""
        return self.datadir.parent

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        """initdb with trust on the socket (guarded by the directory's mode) and scram on TCP."""
        if self.initialised():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over()
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

    def _hand_over(self) -> None:
        user = server_user()
        self.socket_dir.chmod(0o700)
        if user is None:
            return
        entry = pwd.getpwnam(user)
        for path in (self.datadir, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if not reachable_by(user, self.datadir):
            raise RuntimeError(f"{self.datadir} is not reachable by '{user}'")

    def server_command(self) -> list[str]:
        """The foreground server command (supervisord runs this)."""
        return [
            pg_bin("postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "fsync=on",
            "-c",
            # A failed statement's DETAIL quotes the values (a duplicate CPF): log only fatal.
            "log_min_messages=fatal",
            "-c",
            "log_error_verbosity=terse",
            "-c",
            "log_statement=none",
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

    def stop(self) -> None:
        subprocess.run(
            as_server_user([pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "stop"]),
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
