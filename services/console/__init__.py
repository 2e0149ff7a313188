"""console: the back office in a browser (issue 18). Server-rendered pages in Portuguese over the
API, a backend-for-frontend: the browser holds an opaque session cookie, the console keeps the
user's tokens (services/console/sessions.py) and calls the services through the gateway with them
(services/console/api.py), as any API client does."""

from __future__ import annotations

import secrets

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from services.kit import Unavailable, create_service_app
from services.kit.fields import time_zone_names
from services.kit.settings import env

from .models import db

csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    app, _api = create_service_app(
        "console",
        __name__,
        db=db,
        config=config,
        settings={
            "GATEWAY_URL": env("GATEWAY_URL", "http://127.0.0.1:8080"),
            "SECRET_KEY": env("CONSOLE_SECRET_KEY"),
            "CONSOLE_SESSION_HOURS": env("CONSOLE_SESSION_HOURS", 12, float),
            "CONSOLE_ANONYMOUS_HOURS": env("CONSOLE_ANONYMOUS_HOURS", 2, float),
            "CONSOLE_REFRESH_MARGIN_S": env("CONSOLE_REFRESH_MARGIN_S", 30, float),
            "CONSOLE_API_TIMEOUT_S": env("CONSOLE_API_TIMEOUT_S", 10, float),
            # The API speaks UTC; pages show its moments in the shop's zone (an IANA name), and
            # the dashboard asks for the KPIs of the shop's days.
            "CONSOLE_TIME_ZONE": env("CONSOLE_TIME_ZONE", "America/Sao_Paulo"),
            "WTF_CSRF_TIME_LIMIT": None,
        },
        description="The console: the back office in a browser.",
    )
    # A place's zone, as the KPIs take (the zone database's "Factory" and "localtime" are not).
    if app.config["CONSOLE_TIME_ZONE"] not in time_zone_names():
        raise RuntimeError(
            f"CONSOLE_TIME_ZONE={app.config['CONSOLE_TIME_ZONE']!r} is not an IANA time zone"
            " (America/Sao_Paulo, UTC, ...)"
        )
    # A pasted import may be as large as the API takes (Flask holds a form field to 500 KB).
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    if not app.config.get("SECRET_KEY") and app.testing:
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    # The gateway says whether the browser came over TLS (X-Forwarded-Proto): the cookie is then
    # Secure and `__Host-`.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    from . import pages
    from .assets import init_assets
    from .sessions import DatabaseSessionInterface

    app.session_interface = DatabaseSessionInterface()
    csrf.init_app(app)
    init_assets(app)
    pages.init_pages(app)

    @app.before_request
    def refuse_without_a_key():
        # Migrations run without it; pages cannot (sessions and CSRF need it).
        if not app.config.get("SECRET_KEY") and request.path.startswith("/console"):
            raise Unavailable("CONSOLE_SECRET_KEY is not set: the console cannot keep sessions")

    return app
