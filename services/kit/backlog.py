"""Health routes that turn red when a background process falls behind its work (an outbox relay,
notifications' sender, the collector's worker), and the same figures as gauges on /metrics.

Each route is on the service's own port only (the gateway never routes it) and answers 200 with
each queue's figures, or a 503 problem+json whose detail names the queues whose oldest item has
been due longer than BACKLOG_LATE_AFTER_S (120 s): its process is stopped or hung, or what it
delivers to refuses it. The monitoring worker checks each route (monitoring/targets.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .errors import Unavailable
from .settings import env

DEFAULT_LATE_AFTER_S = 120.0


@dataclass(frozen=True)
class Lag:
    """One queue: how many items wait, and how long ago the oldest of them fell due (0 when
    none is due yet)."""

    pending: int
    oldest_seconds: float


@dataclass(frozen=True)
class Backlog:
    """What one route watches. `read` answers each queue's Lag by its name (a subscriber), or
    one queue's under `label` None; the gauges are `metric`_pending and `metric`_oldest_seconds
    unless `pending_metric` names the first."""

    path: str
    read: Callable[[], dict[str, Lag]]
    metric: str
    late_because: str
    label: str | None = None
    pending_metric: str | None = None


def watch_backlog(app: Flask, backlog: Backlog) -> None:
    """Mount `backlog.path` and add its gauges to the app's /metrics."""
    app.config.setdefault(
        "BACKLOG_LATE_AFTER_S", env("BACKLOG_LATE_AFTER_S", DEFAULT_LATE_AFTER_S, float)
    )

    def health():
        lags = backlog.read()
        limit = current_app.config["BACKLOG_LATE_AFTER_S"]
        figures = {
            name: {"pending": lag.pending, "oldest_seconds": round(lag.oldest_seconds, 1)}
            for name, lag in lags.items()
        }
        late = [name for name, lag in lags.items() if lag.oldest_seconds > limit]
        if late:
            named = ", ".join(
                f"{name} ({lags[name].pending} waiting, oldest due"
                f" {lags[name].oldest_seconds:.0f} s ago)"
                for name in late
            )
            raise Unavailable(
                f"{backlog.late_because} longer than {limit:g} s: {named}",
                extra={"late_after_s": limit, "queues": figures},
            )
        return {"status": "ok", "late_after_s": limit, "queues": figures}

    app.add_url_rule(backlog.path, f"backlog{backlog.path.replace('/', '_')}", health)
    append_to_metrics(app, _BacklogCollector(backlog))


class _BacklogCollector:
    def __init__(self, backlog: Backlog):
        self.backlog = backlog

    def collect(self):
        backlog = self.backlog
        labels = [backlog.label] if backlog.label else []
        pending = GaugeMetricFamily(
            backlog.pending_metric or f"{backlog.metric}_pending",
            f"Items waiting ({backlog.path})",
            labels=labels,
        )
        oldest = GaugeMetricFamily(
            f"{backlog.metric}_oldest_seconds",
            f"How long ago the oldest waiting item fell due ({backlog.path})",
            labels=labels,
        )
        for name, lag in backlog.read().items():
            values = [name] if backlog.label else []
            pending.add_metric(values, lag.pending)
            oldest.add_metric(values, lag.oldest_seconds)
        yield from (pending, oldest)


def append_to_metrics(app: Flask, collector) -> None:
    """Add a collector's families to the kit's /metrics answer, read at each scrape (the
    figures live in the database: another process does the work)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)

    @app.after_request
    def with_more(response):
        if request.path != "/metrics" or response.status_code != 200:
            return response
        extra = generate_latest(registry)
        body = response.get_data()
        if body.rstrip().endswith(b"# EOF"):
            body = body.rstrip()[: -len(b"# EOF")]
            extra += b"# EOF\n"
        response.set_data(body + extra)
        return response
