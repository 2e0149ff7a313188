"""`/health` (alive) and `/health/ready` (the database and required dependencies, timed)."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)


@bp.get("/health")
def alive():
    return jsonify(status="ok", service=current_app.config["SERVICE_NAME"])


@bp.get("/health/ready")
def ready():
    checks = {}
    healthy = True
    for name, check in current_app.extensions["feira"].readiness_checks.items():
        started = time.perf_counter()
        try:
            check()
            checks[name] = {"status": "ok"}
        except Exception as exc:
            healthy = False
            checks[name] = {"status": "down", "error": type(exc).__name__}
        checks[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    body = {
        "status": "ok" if healthy else "unavailable",
        "service": current_app.config["SERVICE_NAME"],
        "checks": checks,
    }
    return jsonify(body), 200 if healthy else 503


def database_check(db) -> Callable[[], None]:
    def check():
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def service_check(name: str) -> Callable[[], None]:
    def check():
        from .httpclient import service

        service(name).get("/health", forward_auth=False)

    return check
