"""The app factory every service calls: settings, errors, auth, health, logs, metrics, OpenAPI."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from werkzeug.exceptions import ClientDisconnected
from werkzeug.routing import IntegerConverter
from werkzeug.wsgi import LimitedStream

from services.registry import BY_NAME, internal_callers

from .db import read_outside_transactions, replace_cut_connections
from .errors import Unprocessable, register_error_handlers
from .fields import MAX_ID, Money, unstorable_text
from .health import bp as health_bp
from .health import database_check, service_check
from .httpclient import ServiceClient
from .observability import configure_logging, init_metrics, init_sentry, register_request_hooks
from .security import init_jwt
from .settings import base_config, env
from .web import (
    AnswerPlugin,
    Api,
    bodiless_head,
    no_content_no_type,
    not_sniffed_nor_framed,
    revalidate,
    schema_name_resolver,
)


class IdConverter(IntegerConverter):
    """`<int:id>` only matches what fits an INTEGER column, so a huge id is a routing 404, not
    a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class Kit:
    """What the kit keeps per app: readiness checks and the clients for other services."""

    def __init__(self, app: Flask):
        self.app = app
        self.readiness_checks: dict[str, Any] = {}
        self._clients: dict[str, ServiceClient] = {}

    def service(self, name: str) -> ServiceClient:
        if name not in self._clients:
            urls = self.app.config["SERVICE_URLS"]
            if name not in urls:
                raise RuntimeError(f"{name.upper()}_URL is not configured")
            self._clients[name] = ServiceClient(
                name,
                urls[name],
                connect_timeout=self.app.config["HTTP_CONNECT_TIMEOUT"],
                read_timeout=self.app.config["HTTP_READ_TIMEOUT"],
                retries=self.app.config["HTTP_RETRIES"],
            )
        return self._clients[name]


# The largest body drained after a response (the gateway lets no larger one through).
DRAIN_LIMIT = 16 * 1024 * 1024


def allow_large_bodies(app: Flask) -> None:
    """The registry's `large_bodies` of this service: a request to one of those paths may be as
    large as its setting (the gateway lets the same through). Set before any other hook reads
    the body, so a form's CSRF check, which parses it, sees the raised limit too."""
    service = BY_NAME.get(app.config["SERVICE_NAME"])
    bodies = service.large_bodies if service else ()
    routes = [(re.compile(body.pattern), body) for body in bodies]
    if not routes:
        return
    for _, body in routes:
        app.config.setdefault(body.setting, env(body.setting, body.default, int))

    @app.before_request
    def _raise_the_body_limit():
        for pattern, body in routes:
            if pattern.match(request.path):
                request.max_content_length = app.config[body.setting]
                return


def drain_unread_body(response):
    """Read whatever of the request body the view left unread, before answering.

    A route may answer before it reads the body: a 403 for the role, a 404 for the id. gunicorn
    then drains at most 64 KiB of it and, past that, closes the connection without telling nginx,
    which reuses it for the next request: that request fails, and its client gets a 503.
    """
    length = request.content_length
    if not length or length > DRAIN_LIMIT:
        return response
    # The view's own stream if it opened one (it knows what is left), else the raw input bounded
    # by Content-Length: werkzeug would refuse to open a body past MAX_CONTENT_LENGTH.
    stream = request.__dict__.get("stream") or LimitedStream(request.environ["wsgi.input"], length)
    try:
        # A stream bounded by the body's limit (gunicorn ends its input, so werkzeug bounds it
        # by MAX_CONTENT_LENGTH) raises 413 on a read past its end: a body of exactly the limit,
        # read to its end by the view, has nothing left to drain.
        while not getattr(stream, "is_exhausted", False) and stream.read(64 * 1024):
            pass
    except (ClientDisconnected, OSError, ValueError):
        pass  # the client went: gunicorn closes the connection
    return response


def refuse_unstorable_path_values(endpoint, values):
    """A path parameter is text the view will look up: NUL (`%00`) or a lone surrogate in it is a
    422 naming it, as in a query or a body, not a database error."""
    errors = unstorable_text(values or {})
    if errors:
        raise Unprocessable(errors)


def create_service_app(
    name: str,
    import_name: str,
    *,
    db: SQLAlchemy,
    config: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    description: str = "",
    requires: tuple[str, ...] = (),
) -> tuple[Flask, Api]:
    """Build a service's app.

    `settings` are the service's own keys (read from the environment by the caller), `config`
    overrides everything (tests), and `requires` names the services it cannot work without.
    """
    app = Flask(import_name)
    app.url_map.converters["int"] = IdConverter
    app.config.update(base_config(name))
    app.config.update(
        API_TITLE=f"Feira {name}",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"/{name}",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": description},
            "servers": [{"url": "/", "description": "the gateway"}],
        },
    )
    app.config.update(settings or {})
    app.config.update(config or {})
    app.json.sort_keys = False

    kit = Kit(app)
    app.extensions["feira"] = kit
    configure_logging(app)
    register_request_hooks(app)
    allow_large_bodies(app)
    app.after_request(drain_unread_body)
    app.after_request(bodiless_head)
    app.after_request(no_content_no_type)
    app.after_request(not_sniffed_nor_framed)
    # Last, so it runs first: the hooks above see the 304 it may make.
    app.after_request(revalidate)
    app.url_value_preprocessor(refuse_unstorable_path_values)
    init_sentry(app)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            replace_cut_connections(engine)
            read_outside_transactions(engine)
    Migrate(
        app,
        db,
        directory=str(Path(sys.modules[import_name].__file__).parent / "migrations"),
        version_table_schema=name,
        include_schemas=True,
        include_name=lambda obj_name, obj_type, parent: obj_type != "schema" or obj_name == name,
        compare_type=True,
        render_as_batch=False,
    )
    init_jwt(app)

    api = Api(
        app,
        spec_kwargs={"marshmallow_plugin": AnswerPlugin(schema_name_resolver)},
        internal=tuple(internal_callers(name)) if name in BY_NAME else (),
    )
    api.register_field(Money, "string", "decimal")
    register_error_handlers(app)
    app.register_blueprint(health_bp)
    init_metrics(app)

    kit.readiness_checks["database"] = database_check(db)
    for dependency in requires:
        kit.readiness_checks[dependency] = service_check(dependency)
    return app, api
