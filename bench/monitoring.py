"""The status dashboard with a month of history: 30 days of 20 targets checked every 15 s,
synthesised into the rollups of a database of its own (`feira_bench` on the stack's cluster, so
the stack's own dashboard is untouched), served by a dashboard process started for the run.

Issue 7 wants the summary and the page under 300 ms at p95; wrk reports p99, which bounds it."""

from __future__ import annotations

import atexit
import os
import random
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import psycopg

from stack.config import ROOT
from stack.postgres import provision
from stack.processes import VENV_BIN, cluster, service_command

from .registry import Context, Request, case

DATABASE = "feira_bench"
TARGETS = 20
DAYS = 30
INTERVAL_S = 15
# As the worker keeps them: minutes for 8 days, hours and days for the whole month.
MINUTE_DAYS = 8
HISTOGRAM_SIZE = 21
_dashboard: dict[str, str] = {}


def _histogram(rng: random.Random, samples: int, centre: int) -> list[int]:
    """`samples` latencies around bucket `centre` (fixed buckets, as monitoring.histogram)."""
    counts = [0] * HISTOGRAM_SIZE
    for _ in range(samples):
        counts[min(HISTOGRAM_SIZE - 1, max(0, centre + int(rng.gauss(0, 1.2))))] += 1
    return counts


def _scaled(base: list[int], factor: int) -> list[int]:
    return [count * factor for count in base]


def synthesise(dsn: str, now: datetime) -> int:
    """Fill the monitoring schema of `dsn`: 20 targets, their rollups over 30 days, a few dozen
    incidents and a fresh heartbeat. Answers how many rollup rows were written."""
    rng = random.Random(7)  # noqa: S311 (synthetic data)
    per_minute = 60 // INTERVAL_S
    names = [f"service-{n:02d}" for n in range(TARGETS)]
    start = (now - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    minute_from = now - timedelta(days=MINUTE_DAYS)
    rows = 0
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute(
            "TRUNCATE monitoring.rollups, monitoring.results, monitoring.incidents, "
            "monitoring.targets, monitoring.heartbeats RESTART IDENTITY"
        )
        with conn.cursor().copy(
            "COPY monitoring.rollups (resolution, target, bucket_start, checks, failures, up_s, "
            "degraded_s, down_s, maintenance_s, latency_max_ms, histogram) FROM STDIN"
        ) as copy:
            for index, name in enumerate(names):
                centre = 2 + index % 6
                minute_shape = _histogram(rng, per_minute, centre)
                hour_shape = _histogram(rng, per_minute * 60, centre)
                day = start.replace(hour=0)
                while day < now:
                    copy.write_row(
                        (86400, name, day, 5760, 0, 86400.0, 0.0, 0.0, 0.0, 900.0,
                         _scaled(hour_shape, 24))
                    )  # fmt: skip
                    day += timedelta(days=1)
                    rows += 1
                hour = start
                while hour < now:
                    failures = 4 if rng.random() < 0.01 else 0
                    copy.write_row(
                        (3600, name, hour, 240, failures, 3600.0 - 15 * failures, 0.0,
                         15.0 * failures, 0.0, 600.0, hour_shape)
                    )  # fmt: skip
                    rows += 1
                    if hour >= minute_from:
                        for minute in range(60):
                            copy.write_row(
                                (60, name, hour + timedelta(minutes=minute), per_minute, 0, 60.0,
                                 0.0, 0.0, 0.0, 300.0, minute_shape)
                            )  # fmt: skip
                            rows += 1
                    hour += timedelta(hours=1)
        for position, name in enumerate(names):
            conn.execute(
                "INSERT INTO monitoring.targets (name, kind, description, interval_s, position, "
                "state, state_since, last_checked_at, last_ok, last_latency_ms) "
                "VALUES (%s, 'pair', 'synthesised', %s, %s, 'up', %s, %s, true, 12.0)",
                (name, INTERVAL_S, position, start, now),
            )
        for _ in range(60):
            began = start + timedelta(hours=rng.randrange(DAYS * 24))
            conn.execute(
                "INSERT INTO monitoring.incidents (key, target, started_at, ended_at, "
                "first_failing_step, error, notified) VALUES (gen_random_uuid(), %s, %s, %s, "
                "'direct', 'connection refused or reset', true)",
                (rng.choice(names), began, began + timedelta(minutes=rng.randrange(1, 30))),
            )
        conn.execute(
            "INSERT INTO monitoring.heartbeats (worker, started_at, beat_at, pid, targets) "
            "VALUES ('worker', %s, now(), 0, %s)",
            (start, TARGETS),
        )
        conn.commit()
        conn.execute("ANALYZE monitoring.rollups")
    return rows


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dashboard(ctx: Context) -> str:
    """The base URL of a dashboard over the synthesised month, set up once per run."""
    if "url" in _dashboard:
        return _dashboard["url"]
    cfg = ctx.cfg
    password = cfg.db_passwords()["monitoring"]
    # The same role and password as the stack's: provisioning only adds a database.
    provision(cluster(cfg).dsn, DATABASE, {"monitoring": password})
    url = cfg.database_url("monitoring", password).rsplit("/", 1)[0] + f"/{DATABASE}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JWT_PUBLIC_KEY_FILE": str(cfg.public_key_path),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "monitoring:create_app", "db", "upgrade"],
        check=True,
        env=env,
        cwd=ROOT,
    )
    started = time.monotonic()
    rows = synthesise(url.replace("postgresql+psycopg://", "postgresql://"), datetime.now(UTC))
    print(f"    synthesised {rows} rollup rows in {time.monotonic() - started:.1f}s", flush=True)

    port = _free_port()
    metrics = tempfile.mkdtemp(prefix="feira-bench-metrics-")
    server = subprocess.Popen(  # the dashboard as the stack runs it: gunicorn, same settings
        service_command("monitoring"),
        env={
            **env,
            "PORT": str(port),
            "SERVICE_HOST": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": metrics,
            "GUNICORN_WORKERS": cfg.get("GUNICORN_WORKERS", "2"),
            "GUNICORN_THREADS": cfg.get("GUNICORN_THREADS", "4"),
        },
        cwd=ROOT,
    )
    atexit.register(server.terminate)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health/ready", timeout=2):  # noqa: S310
                break
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline or server.poll() is not None:
                raise OSError("the benchmark's dashboard did not start") from None
            time.sleep(0.2)
    _dashboard["url"] = base
    return base


@case("status summary 20x30d")
def status_summary(ctx: Context) -> Request:
    """GET /status/api/summary over a month of rollups of 20 targets (target: p95 < 300 ms)."""
    return Request(f"{dashboard(ctx)}/status/api/summary")


@case("status page 20x30d")
def status_page(ctx: Context) -> Request:
    """GET /status, the server-rendered page, over the same month (target: p95 < 300 ms)."""
    return Request(f"{dashboard(ctx)}/status")
