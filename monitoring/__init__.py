"""monitoring: the status dashboard at /status (this app) and the worker that fills it
(`flask --app monitoring:create_app worker`)."""

from __future__ import annotations

import os

from flask import Flask

from services.kit import create_service_app

from .models import db


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "monitoring",
        __name__,
        db=db,
        config={"OPENAPI_URL_PREFIX": "/status/api", "STATUS_CACHE_SECONDS": 5.0, **(config or {})},
        # What the worker last knew, for the dashboard while the database is down (snapshot.py).
        settings={"MONITOR_SNAPSHOT_FILE": os.environ.get("MONITOR_SNAPSHOT_FILE")},
        description="Availability of every Feira service: state, uptime, latency, incidents.",
    )
    from .metrics import install as install_metrics
    from .routes import blp, pages
    from .worker import worker_command

    api.register_blueprint(blp)
    app.register_blueprint(pages)
    install_metrics(app)
    app.cli.add_command(worker_command)
    return app
