"""Problem details (RFC 9457): the errors services raise, and the one place that renders them."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("feira.errors")

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    412: "precondition-failed",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    502: "bad-gateway",
    503: "service-unavailable",
    504: "gateway-timeout",
}


class Problem(Exception):
    """An error with an HTTP status that the client can act on."""

    status = 500
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        title: str | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        # More members of the problem body (RFC 9457 extensions), e.g. the short lines of a
        # reservation, for clients that act on them.
        self.extra = extra or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title


class BadRequest(Problem):
    status, title = 400, "Bad Request"


# RFC 6750 §3: a request without a token is told only the scheme; one whose bearer token was
# refused is told so, and a client then signs in or refreshes rather than send the same again.
CHALLENGE = 'Bearer realm="feira"'
REFUSED_CHALLENGE = 'Bearer realm="feira", error="invalid_token"'


class Unauthorized(Problem):
    """No credential, or one this route does not take (a password, a service credential)."""

    status, title = 401, "Unauthorized"
    challenge = CHALLENGE

    def __init__(self, detail: str | None = None, **kwargs):
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", self.challenge)


class InvalidToken(Unauthorized):
    """The bearer token the request presented is refused: expired, malformed, revoked, or its
    session or user no longer good (a logout, a deactivated account)."""

    challenge = REFUSED_CHALLENGE


class Forbidden(Problem):
    status, title = 403, "Forbidden"


class NotFound(Problem):
    status, title = 404, "Not Found"


class Conflict(Problem):
    status, title = 409, "Conflict"


class PreconditionFailed(Problem):
    """An If-Match that no longer matches: the resource changed since the caller read it."""

    status, title = 412, "Precondition Failed"


class PayloadTooLarge(Problem):
    status, title = 413, "Payload Too Large"


class Unprocessable(Problem):
    """A field is missing or invalid; `errors` maps each field to its messages."""

    status, title = 422, "Unprocessable Content"

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None, **kwargs):
        fields = ", ".join(sorted(errors))
        super().__init__(detail or f"Invalid fields: {fields}", errors=errors, **kwargs)


class TooManyRequests(Problem):
    status, title = 429, "Too Many Requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs):
        super().__init__(detail, **kwargs)
        self.headers["Retry-After"] = str(max(1, int(retry_after)))


class Unavailable(Problem):
    """A dependency (another service or the database) cannot answer."""

    status, title = 503, "Service Unavailable"

    def __init__(self, detail: str | None = None, **kwargs):
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", "5")


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    errors: dict | None = None,
    headers: dict[str, str] | None = None,
    extra: dict | None = None,
):
    body = {
        "type": problem_type(status),
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": getattr(g, "request_id", None),
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_type(status: int) -> str:
    from flask import current_app

    base = current_app.config.get("PROBLEM_TYPE_BASE", "https://feira.dev/problems/")
    return base + _SLUGS.get(status, "error")


def flatten_messages(messages) -> dict[str, list[str]]:
    """webargs nests messages by location ({"json": {"email": [...]}}); clients want field names."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_body", []).extend(value)
        elif isinstance(value, list):
            for item in value:
                walk(prefix, item)
        else:
            flat.setdefault(prefix or "_body", []).append(str(value))

    if isinstance(messages, dict):
        for location, fields in messages.items():
            if location in {"json", "query", "querystring", "form", "files", "headers"}:
                walk("", fields)
            else:
                walk(str(location), fields)
    else:
        walk("", messages)
    return {("_body" if k == "_schema" else k): v for k, v in flat.items()}


def http_problem(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    status = exc.code or 500
    headers = dict(data.get("headers") or {})
    if status == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 422 and data.get("messages"):
        errors = flatten_messages(data["messages"])
        return problem_response(
            422,
            "Unprocessable Content",
            "Invalid fields: " + ", ".join(sorted(errors)),
            errors=errors,
            headers=headers,
        )
    if status == 404:
        detail = f"No route for {request.path}"
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.path}"
    elif status == 413:
        detail = "The request body is larger than this endpoint accepts"
    else:
        detail = data.get("message") or exc.description or exc.name
    if status >= 500:
        log.error("http error %s", status)
    return problem_response(status, exc.name, detail, headers=headers)


def _integrity_error(exc: IntegrityError):
    from .db import constraint_field, violated

    _rollback()
    constraint = violated(exc)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    field = constraint_field(constraint)
    if sqlstate == "23505":
        return problem_response(
            409,
            "Conflict",
            f"{field} is already taken",
            errors={field: ["already taken"]},
        )
    if sqlstate == "23503":
        return problem_response(409, "Conflict", f"{field} is still referenced or does not exist")
    if sqlstate == "23514":
        return problem_response(409, "Conflict", f"The change breaks the rule {constraint}")
    log.exception("unexpected integrity error")
    return problem_response(409, "Conflict", "The change conflicts with stored data")


def _deleted_meanwhile(exc: ObjectDeletedError | StaleDataError):
    """The row this request read was deleted by another before it was written or read back (a
    change, or a child added, racing the deletion): what it asked about does not exist."""
    _rollback()
    log.info("deleted meanwhile: %s", type(exc).__name__)
    return problem_response(
        404, "Not Found", "It was deleted while this request was being carried out"
    )


def _database_unavailable(exc: DBAPIError):
    _rollback()
    if isinstance(exc, DataError):
        # A value the column cannot hold (out of range, too long) that validation let through.
        log.warning("data error: %s", type(exc.orig).__name__)
        # What the database says names no field: the body as a whole (API.md's 422 has errors).
        return problem_response(
            422,
            "Unprocessable Content",
            "A value is out of range",
            errors={"_body": ["A value, or what it adds up to, is larger than can be stored."]},
        )
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return problem_response(
            503,
            "Service Unavailable",
            "The database is unavailable",
            headers={"Retry-After": "5"},
        )
    return unexpected_problem(exc)


def unexpected_problem(exc: Exception):
    _rollback()
    log.exception("unhandled error")
    return problem_response(
        500,
        "Internal Server Error",
        "An unexpected error occurred; quote the request_id when reporting it",
    )


def _rollback():
    from flask import current_app

    db = current_app.extensions.get("sqlalchemy")
    if db is not None:
        db.session.rollback()


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(
        Problem,
        lambda exc: problem_response(
            exc.status,
            exc.title,
            exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        ),
    )
    app.register_error_handler(HTTPException, http_problem)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(ObjectDeletedError, _deleted_meanwhile)
    app.register_error_handler(StaleDataError, _deleted_meanwhile)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(Exception, unexpected_problem)
