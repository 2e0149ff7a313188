"""Prometheus: every target's state, latency, uptime and open incidents, and the worker's
heartbeat age, read from the monitoring schema at scrape time, beside the kit's request metrics."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, request
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError

from . import status, store
from .models import db
from .states import DEGRADED, STATES, UP


class StatusCollector:
    """The status gauges, computed afresh at every scrape from the monitoring schema."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        """Yield the status metric families for one scrape.

        All the reads happen first, in one app context, so that a database that fails half-way
        yields nothing half-read: `feira_monitor_database_up` is then 0 and it is the only family
        (a scrape must still answer while the database is down, and say so). Otherwise it yields
        1 and, per active target: its state (one series per possible state, 1 for the current
        one, so that a state change never leaves a stale series behind), whether it is up
        (up or degraded), the last check's latency in seconds and time, its uptime ratio per
        window (0..1; a window without measured time has no sample rather than a made-up one)
        and whether it has an open incident; and the worker's heartbeat age when it ever beat.
        Every value is in base units (seconds, ratios), as Prometheus' conventions want.
        """
        reachable = GaugeMetricFamily(
            "feira_monitor_database_up", "Whether the dashboard can read the monitoring schema"
        )
        try:
            with self.app.app_context():
                now = datetime.now(UTC)
                targets, figures, open_incidents, beat = _read(db.session, now)
                db.session.remove()
        except SQLAlchemyError:
            reachable.add_metric([], 0)
            yield reachable
            return
        reachable.add_metric([], 1)
        yield reachable

        state = GaugeMetricFamily(
            "feira_monitor_target_state",
            "1 for the target's current state",
            labels=["target", "state"],
        )
        up = GaugeMetricFamily(
            "feira_monitor_target_up", "1 when the target is up or degraded", labels=["target"]
        )
        latency = GaugeMetricFamily(
            "feira_monitor_last_latency_seconds", "The last check's latency", labels=["target"]
        )
        checked = GaugeMetricFamily(
            "feira_monitor_last_check_timestamp_seconds",
            "When the last check ran",
            labels=["target"],
        )
        uptime = GaugeMetricFamily(
            "feira_monitor_uptime_ratio",
            "Available time over measured time (maintenance excluded)",
            labels=["target", "window"],
        )
        incidents = GaugeMetricFamily(
            "feira_monitor_incidents_open", "Open incidents", labels=["target"]
        )
        opened = {row["target"] for row in open_incidents}
        for target in targets:
            name = target["name"]
            for candidate in STATES:
                state.add_metric([name, candidate], 1 if target["state"] == candidate else 0)
            up.add_metric([name], 1 if target["state"] in (UP, DEGRADED) else 0)
            if target["last_latency_ms"] is not None:
                latency.add_metric([name], target["last_latency_ms"] / 1000)
            if target["last_checked_at"] is not None:
                checked.add_metric([name], target["last_checked_at"].timestamp())
            for window, value in figures.get(name, {}).items():
                if value is not None:
                    uptime.add_metric([name, window], value / 100)
            incidents.add_metric([name], 1 if name in opened else 0)
        yield from (state, up, latency, checked, uptime, incidents)
        if beat:
            age = GaugeMetricFamily(
                "feira_monitor_worker_heartbeat_age_seconds", "Seconds since the worker's heartbeat"
            )
            age.add_metric([], (now - beat["beat_at"]).total_seconds())
            yield age


@status.in_one_snapshot
def _read(session, now: datetime) -> tuple[list[dict], dict[str, dict], list[dict], dict | None]:
    """The targets, their uptimes, the open incidents and the heartbeat (in one snapshot: a
    target down has its incident open in the same scrape)."""
    targets = store.targets(session)
    figures, _, _ = status.uptimes(session, now)
    open_incidents, _ = store.incidents(session, state="open", limit=1000)
    return targets, figures, open_incidents, store.heartbeat(session)


def install(app: Flask) -> None:
    """Append the status gauges to the kit's `/metrics` answer (which, under gunicorn, builds a
    fresh multiprocess registry per scrape, so a collector cannot simply be registered on it)."""
    view = app.view_functions.get("prometheus_metrics")
    if view is None:
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(app))

    def metrics_with_status():
        data, code, headers = view()
        encoder, _ = choose_encoder(request.headers.get("Accept"))
        if isinstance(data, bytes):
            data = data.decode()
        data = data.removesuffix("# EOF\n")
        return data + encoder(registry).decode(), code, headers

    app.view_functions["prometheus_metrics"] = metrics_with_status
