"""Request ids, one JSON log line per request, Prometheus metrics and optional Sentry."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import re
import sys
import time
import uuid
from logging.handlers import QueueHandler, QueueListener

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

# A caller's X-Request-ID kept as the request's id; any other is replaced. The gateway's nginx
# map is rendered from it (stack/gateway.py), so the caller's id it keeps is one the services
# keep too. Nothing in it can end a JSON string or an HTML text, where the id is pasted.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._-]{8,64}$"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
request_log = logging.getLogger("feira.request")


class ServiceFilter(logging.Filter):
    """Stamps each record with the service and the request id (none outside a request)."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


def json_formatter() -> JsonFormatter:
    """The one shape of a log line, a service's own and its gunicorn's alike
    (stack/gunicorn.conf.py): time, level, logger, message, service and request_id, then
    whatever `extra=` adds."""
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


# Writes the formatted lines to stderr from a thread of its own (one per process).
_listener: QueueListener | None = None


def _stop_listener() -> None:
    """Write what is still queued, then stop (at exit, and before a new configuration)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(_stop_listener)


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr, each stamped with the service and the request id.

    A request thread only formats its line and queues it; a thread of the process's own writes
    it. Writing to stderr, a pipe supervisord drains as it can, blocked under load and held the
    handler's lock meanwhile: most of what a request's log line cost.
    """
    global _listener
    # The JSON is made here, in the caller's thread (the request id is in its context); the
    # writer only writes the finished line.
    handler = QueueHandler(queue.SimpleQueue())
    handler.setFormatter(json_formatter())
    handler.addFilter(ServiceFilter(app.config["SERVICE_NAME"]))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_feira", False):
            root.removeHandler(existing)
    handler._feira = True
    _stop_listener()
    _listener = QueueListener(handler.queue, logging.StreamHandler(sys.stderr))
    _listener.start()
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        caller = g.get("caller")
        # The path only: query strings may carry a CPF or an email, which never go to logs.
        request_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(
                    (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2
                ),
                "user_id": caller.id if caller else None,
                "remote_addr": request.headers.get("X-Real-IP", request.remote_addr),
            },
        )
        return response


def init_metrics(app: Flask) -> None:
    """`/metrics` on the service's own port; the gateway never routes it."""
    from prometheus_client import CollectorRegistry

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        GunicornInternalPrometheusMetrics(app, group_by="endpoint")
    else:
        from prometheus_flask_exporter import PrometheusMetrics

        PrometheusMetrics(app, registry=CollectorRegistry(), group_by="endpoint")


def init_sentry(app: Flask) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        send_default_pii=False,
        # A traceback's local variables would carry whatever the code held: a CPF, a phone, a
        # password being checked. The stack trace itself is enough to find the fault.
        include_local_variables=False,
        server_name=app.config["SERVICE_NAME"],
        before_send=_scrub_event,
    )


# The only headers an error report keeps: what the request was and which one it was, never what
# proves who sent it. An allow-list, so a header added later (a credential, a signature, an
# assertion) stays out of Sentry without anyone remembering to name it here.
_REPORTED_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "content-length",
        "content-type",
        "host",
        "user-agent",
        "x-request-id",
    }
)


def _without_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _scrub_event(event, hint):
    """Sentry gets the error, never a credential, the body, the cookies or a query string."""
    req = event.get("request") or {}
    req.pop("data", None)
    req.pop("query_string", None)
    req.pop("cookies", None)
    if isinstance(req.get("url"), str):
        req["url"] = _without_query(req["url"])
    headers = req.get("headers") or {}
    for name in list(headers):
        if name.lower() not in _REPORTED_HEADERS:
            headers[name] = "[filtered]"
    # Calls this process made before the error: their query strings may hold what ours would.
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        data = crumb.get("data") or {}
        data.pop("http.query", None)
        data.pop("http.fragment", None)
        if isinstance(data.get("url"), str):
            data["url"] = _without_query(data["url"])
    return event
