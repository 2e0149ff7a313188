"""/status: the dashboard page, its JSON API and the badges. Public and read-only."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from flask import Blueprint as PageBlueprint
from flask import Response, current_app, render_template
from flask.views import MethodView
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.kit import Blueprint, NotFound

from . import notify, snapshot, status, store
from .models import db
from .schemas import (
    IncidentListArgs,
    IncidentPageSchema,
    SeriesArgs,
    SeriesSchema,
    SummaryArgs,
    SummarySchema,
)

blp = Blueprint(
    "status_api",
    __name__,
    url_prefix="/status/api",
    description="Availability: state, uptime, latency and incidents of every target (public)",
)
pages = PageBlueprint(
    "status",
    __name__,
    url_prefix="/status",
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)
RESOLUTION_NAMES = {"minute": store.MINUTE, "hour": store.HOUR, "day": store.DAY}
# What the badge of a target gone from targets.yaml reads, instead of its last state.
NOT_MONITORED = "not monitored"
BADGE_COLOURS = {
    "up": "#2e7d32",
    "degraded": "#b26a00",
    "down": "#c62828",
    "unknown": "#616161",
    "stale": "#616161",
    NOT_MONITORED: "#616161",
}
log = logging.getLogger("feira.monitoring.dashboard")


def now() -> datetime:
    return datetime.now(UTC)


class Cache:
    """The summary and the page, kept for STATUS_CACHE_SECONDS per process: the figures change
    only as fast as the worker checks, and a page left open (or a tool polling the API) should
    not cost the database a query each time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        ttl = current_app.config.get("STATUS_CACHE_SECONDS", 5.0)
        if ttl <= 0:
            return compute()
        with self._lock:
            entry = self._entries.get(key)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        value = compute()
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)
        return value


def cache() -> Cache:
    return current_app.extensions.setdefault("status_cache", Cache())


def from_database_or_snapshot(
    key: str, compute: Callable[[], dict], fallback: Callable[..., dict]
) -> tuple[dict, str]:
    """`compute()` from the database and where it came from; while the database cannot be read,
    `fallback(the worker's snapshot, now, the last value computed)` instead (snapshot.py).
    Without a snapshot the database's error stands (a 503)."""
    last = current_app.extensions.setdefault("status_last_good", {})
    try:
        value = compute()
    except SQLAlchemyError as exc:
        db.session.remove()
        saved = snapshot.read(current_app.config.get(snapshot.SETTING))
        if saved is None:
            raise
        log.warning(
            "the database cannot be read: answering from the worker's snapshot",
            extra={"error": type(exc).__name__},
        )
        return fallback(saved, now(), last.get(key)), "worker-snapshot"
    last[key] = value
    return value, "database"


@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(SummaryArgs, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """Every target's state, uptime (24 h, 7 d, 30 d) and latency (24 h), the open
        incidents and the worker's last heartbeat. While the monitoring database is down, what
        the worker last knew, with `X-Status-Source: worker-snapshot` (an open incident not yet
        written has no `id`)."""
        body, source = cache().get(
            "summary",
            lambda: from_database_or_snapshot(
                "summary",
                lambda: status.summary(db.session, now()),
                status.summary_from_snapshot,
            ),
        )
        return body, 200, {snapshot.SOURCE_HEADER: source}


# A target name is at most 40 characters (config.py): a longer one is a routing 404.
@blp.route("/targets/<string(maxlength=40):name>")
class TargetSeries(MethodView):
    @blp.arguments(SeriesArgs, location="query")
    @blp.response(200, SeriesSchema)
    @blp.problem(404, "No such target, or one no longer monitored")
    def get(self, args, name):
        """One target's series between `from` and `to` (the last 24 hours unless given, at most
        400 days): a point per minute, hour or day with its checks, uptime and p50/p95. Without
        `resolution`, by the span's length but never finer than what is kept at `from` (minutes
        8 days, hours 90); a `resolution` no longer kept at `from` is a 422 naming it."""
        target = _target(name)
        moment = now()
        end = args.get("to") or moment
        start = args.get("from_") or end - timedelta(hours=24)
        resolution = store.series_resolution(
            start, end, RESOLUTION_NAMES.get(args.get("resolution")), now=moment
        )
        window = store.windows(db.session, start, end, [name]).get(name, store.Window())
        return {
            "name": name,
            "kind": target["kind"],
            "state": target["state"],
            "last_error": target["last_error"],
            "last_step": target["last_step"],
            "from_": start,
            "to": end,
            "resolution": next(k for k, v in RESOLUTION_NAMES.items() if v == resolution),
            "uptime": window.uptime,
            "latency_ms": status.latency(window),
            "points": store.series(db.session, name, start, end, resolution),
        }


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(IncidentListArgs, location="query")
    @blp.response(200, IncidentPageSchema)
    def get(self, args):
        """Incidents, the latest first; filter by `target` or `state` (open, closed)."""
        page, per_page = args["page"], args["per_page"]
        rows, total = store.incidents(
            db.session,
            state=args.get("state"),
            target=args.get("target"),
            limit=per_page,
            offset=(page - 1) * per_page,
        )
        moment = now()
        return {
            "items": [status.incident(row, moment) for row in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
        }


def _target(name: str, *, monitored: bool = True) -> dict:
    """The target named `name`, or a 404 problem; also when it is no longer monitored (gone from
    targets.yaml, its row kept for its history), unless `monitored` is False: the dashboard
    lists only the monitored, so its last state written is no longer news."""
    row = db.session.execute(
        text(
            "SELECT name, kind, state, last_error, last_step, active "
            "FROM monitoring.targets WHERE name = :name"
        ),
        {"name": name},
    ).first()
    if row is None:
        raise NotFound(f"No target named {name!r}")
    if monitored and not row.active:
        raise NotFound(
            f"The target {name!r} is no longer monitored; its incidents stay at "
            f"/status/api/incidents?target={name}"
        )
    return dict(row._mapping)


@pages.get("")
@pages.get("/")
def dashboard():
    """The status page: server-rendered, refreshed by the browser every 15 seconds."""

    def page() -> tuple[str, str]:
        context, source = from_database_or_snapshot(
            "page",
            lambda: status.dashboard(db.session, now()),
            status.dashboard_from_snapshot,
        )
        return render_template("status.html", **context), source

    html, source = cache().get("page", page)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers[snapshot.SOURCE_HEADER] = source
    return response


@pages.get("/badge/<name>.svg")
def badge(name: str):
    """A shields-style badge: the target's state and its uptime over 24 hours, or `stale` when
    the worker's heartbeat is (as the page's banner says): the last state written is not news.
    A target no longer monitored has a grey `not monitored` badge rather than a 404, which a
    page still embedding it would show as a broken image; an unknown name is a 404."""
    target = _target(name, monitored=False)
    if not target["active"]:
        state, message = NOT_MONITORED, NOT_MONITORED
    elif status.worker_stale(db.session, now()):
        state, message = "stale", "stale"
    else:
        state = target["state"]
        window = store.windows(
            db.session, now() - store.WINDOWS["24h"], now(), [name], latency=False
        ).get(name)
        uptime = window.uptime if window else None
        message = state + (f" {uptime:.2f}%" if uptime is not None else "")
    response = Response(
        _badge_svg(name, message, BADGE_COLOURS.get(state, "#616161")),
        mimetype="image/svg+xml",
    )
    response.headers["Cache-Control"] = "max-age=15"
    return response


def _badge_svg(label: str, message: str, colour: str) -> str:
    def width(text: str) -> int:
        return int(len(text) * 6.6) + 12

    left, right = width(label), width(message)
    label, message = escape(label), escape(message)
    total = left + right
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{left / 2}" y="14">{label}</text>'
        f'<text x="{left + right / 2}" y="14">{message}</text></g></svg>'
    )


@pages.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    """As the incident e-mail says it (notify.duration), to the second."""
    return "—" if seconds is None else notify.duration(seconds)


@pages.app_template_filter("moment")
def moment(at: datetime, now: datetime) -> str:
    """A time of the page's zone (UTC), with its date unless it is `now`'s day: "since 15:45:06"
    read as later than "As of 05:05" when it was yesterday's."""
    at = at.astimezone(UTC)
    today = at.date() == now.astimezone(UTC).date()
    return at.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M:%S")


@pages.app_template_filter("observed")
def observed(seconds: float) -> str:
    """How much of a window the worker saw, to the minute: `4 h 6 min`, `0 min`."""
    days, rest = divmod(round(seconds / 60), 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    text = " ".join(part for part in parts if part)
    return text.removesuffix(" 0 min")


@pages.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} %".replace(".000 %", " %")


@pages.app_template_filter("ms")
def milliseconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
