"""flask-smorest wiring: the blueprint every service uses, its argument parser and the Api."""

from __future__ import annotations

import functools
import http
import json
from decimal import Decimal

import flask_smorest
import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import get_fields
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask import current_app, g, request
from flask_smorest.utils import deepupdate, prepare_response
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.http import generate_etag

from .errors import PROBLEM_JSON, BadRequest, PreconditionFailed
from .fields import unstorable_text
from .security import require_caller, require_service_caller


def revalidate(response):
    """An app-wide after-request hook for the reads marked `@conditional`: such a GET carries an
    ETag (a hash of the body) and may be kept only by the caller's own client, which must ask
    again each time: `If-None-Match` with a current tag answers 304 with no body. Nothing is
    shared between users, so no shared cache may store it. A write of the same resource checks
    `If-Match` against the same tag (`precondition`).

    A HEAD carries the same headers as its GET (RFC 9110 §9.3.2), 304 included, when it built
    the GET's body (Flask runs the GET, or the route's own head() answers the same schema); one
    that built none (an existence check, see `bodiless_head`) cannot know the tag, so it
    carries only Cache-Control."""
    if not g.get("conditional") or response.status_code != 200:
        return response
    response.headers["Cache-Control"] = "private, no-cache"
    if not g.get("no_representation"):
        response.add_etag(weak=True)
        response.make_conditional(request)
    return response


def bodiless_head(response):
    """An app-wide after-request hook: a HEAD answered by a route that builds no representation
    (a head() documented without a body schema: an existence check other services ask) has a
    placeholder body, whose length is not the GET's. It sends no Content-Length, which a HEAD may
    omit (RFC 9110 §8.6), rather than a wrong one."""
    if request.method == "HEAD" and g.get("no_representation") and response.status_code < 300:
        response.response = []
        response.automatically_set_content_length = False
        response.headers.pop("Content-Length", None)
    return response


def no_content_no_type(response):
    """An app-wide after-request hook: a 204 has no body, so it names no media type either (a
    client that parses by Content-Type would read an empty JSON document)."""
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    return response


def not_sniffed_nor_framed(response):
    """An app-wide after-request hook: no browser reads an answer as another type than it says
    (a JSON body guessed as HTML), and no page of ours is shown inside another site's frame (the
    status page, a service's own). A page that sets its own policy (the console's) keeps it."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    return response


ETAG_HEADER = {
    "description": "A weak tag of this body: send it back in If-None-Match (a 304 if it is "
    "still current) or in a write's If-Match (a 412 if it is not)",
    "schema": {"type": "string", "example": 'W/"3f2c0d1e9b8a4c7d"'},
}


def conditional(func):
    """A GET (or HEAD) that `revalidate` tags: it carries an ETag and answers If-None-Match, and
    its OpenAPI says so (the header, the 304)."""

    @functools.wraps(func)
    def marked(*args, **kwargs):
        g.conditional = True
        return func(*args, **kwargs)

    return flask_smorest.Blueprint.doc(
        responses={
            "200": {"headers": {"ETag": ETAG_HEADER}},
            "304": {
                "description": "Not modified: the If-None-Match ETag is still current (no body)"
            },
        }
    )(marked)


IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The ETag of the resource as last read (its GET's), or `*`: the write goes "
    "ahead only if the resource is still as read, else it is a 412 and nothing changes. "
    "Without it the write goes ahead as it always did.",
    # A longer one lists no tag of ours: a 412 like any other.
    "schema": {"type": "string", "maxLength": 1024, "example": 'W/"3f2c0d1e9b8a4c7d"'},
}
STALE = "The resource changed since If-Match's ETag: read it again"


def precondition(obj, schema) -> None:
    """Evaluate If-Match (RFC 9110 §13.1.1) for a write of `obj`, whose GET answers it with
    `schema` and `@conditional`: called once the write holds the row's lock and before it
    changes anything, so two writes sent with the same tag cannot both pass. No If-Match: nothing
    to check. Else `obj` is rendered as its GET renders it (the same schema and JSON provider:
    the same bytes, so the same tag), and unless one of the tags matches it (a weak comparison,
    as the tags are weak; `*` matches any resource that exists, as a locked one does) the write
    is refused with a 412."""
    if "If-Match" not in request.headers:
        return
    wanted = request.if_match
    if wanted.star_tag:
        return
    if isinstance(schema, type):
        schema = schema()
    body = current_app.json.response(schema.dump(obj)).get_data()
    if not wanted.contains_weak(generate_etag(body)):
        raise PreconditionFailed(STALE)


def body_limit(config_key: str):
    """Raise the app-wide body limit for one route to the setting `config_key` (an image upload
    is larger than JSON)."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            request.max_content_length = current_app.config[config_key]
            return func(*args, **kwargs)

        return wrapper

    return decorator


class ProblemSchema(ma.Schema):
    # Every problem has these four, the gateway's own included (gateway/templates/errors).
    type = ma.fields.String(
        required=True, metadata={"example": "https://feira.dev/problems/validation-error"}
    )
    title = ma.fields.String(required=True, metadata={"example": "Unprocessable Content"})
    status = ma.fields.Integer(required=True, metadata={"example": 422})
    detail = ma.fields.String(required=True, metadata={"example": "Invalid fields: email"})
    request_id = ma.fields.String(allow_none=True, metadata={"example": "3f2c0d1e9b8a4c7d"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "Only on 422 (and 409 for a taken value): field -> messages",
            "example": {"email": ["Not a valid email address."]},
        },
    )
    key_reused = ma.fields.Boolean(
        metadata={
            "description": "Only on a 409 for an Idempotency-Key already used with another body: "
            "true (the key is spent; send the new body with a new key)",
        }
    )
    resource_id = ma.fields.Integer(
        metadata={
            "description": "Only with key_reused, once the key's first request made something: "
            "the id of what it made (an order, an address), for the caller to check",
            "example": 42,
        }
    )


class ShortItemSchema(ma.Schema):
    product_id = ma.fields.Integer(metadata={"example": 12})
    requested = ma.fields.Integer(metadata={"example": 5})
    available = ma.fields.Integer(metadata={"example": 2})


class ShortageProblemSchema(ProblemSchema):
    """A 409 that may be a shortage of stock: then `short` lists the lines that are short. The
    same status is also a plain conflict (another state, a reused key), without `short`."""

    type = ma.fields.String(
        required=True, metadata={"example": "https://feira.dev/problems/conflict"}
    )
    title = ma.fields.String(required=True, metadata={"example": "Conflict"})
    status = ma.fields.Integer(required=True, metadata={"example": 409})
    detail = ma.fields.String(
        required=True, metadata={"example": "Not enough stock for products 12"}
    )
    short = ma.fields.List(
        ma.fields.Nested(ShortItemSchema),
        metadata={
            "description": "Only when stock is short: {product_id, requested, available}",
            "example": [{"product_id": 12, "requested": 5, "available": 2}],
        },
    )


class ChangeSchema(ma.Schema):
    """A body schema whose `partial=True` instance is a PATCH: an empty one changes nothing, so
    it is a 422 naming `_body`."""

    @ma.validates_schema
    def something_to_change(self, data, **kwargs):
        if self.partial and not data:
            raise ma.ValidationError("Give at least one field to change.", "_body")


# A field's metadata key: True on a field an answer may leave out (rather than send as null), which
# the documents then leave optional though the server sets it.
MAY_BE_ABSENT = "may_be_absent"


class Answer(ma.Schema):
    """A schema a service only answers with, never loads (a report, a ledger line, a run): every
    field is the server's, `dump_only`, so its documents list them all as readOnly and required
    (`AnswerConverter`). A field that an answer may leave out says so with `MAY_BE_ABSENT`."""

    def __init__(self, **kwargs):
        # A Nested field passes its own (empty) set: every field is dumped only all the same.
        kwargs["dump_only"] = {*(kwargs.get("dump_only") or ()), *self._declared_fields}
        super().__init__(**kwargs)


class AnswerConverter(OpenAPIConverter):
    """apispec's, and a field the server sets (`dump_only`) is required as well as readOnly: in
    OpenAPI 3 that is required in answers only, so a client generated from the document knows
    every answer carries `id`, `status` or `created_at` (null where the field is nullable), and
    no request is asked for them. marshmallow loads no `dump_only` field, so nothing changes on
    input. A PATCH body (`partial`) lists nothing required, as apispec does."""

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        if getattr(schema, "partial", None):
            return jsonschema
        answered = [
            field.data_key or name
            for name, field in get_fields(schema).items()
            if field.dump_only and not field.metadata.get(MAY_BE_ABSENT)
        ]
        required = set(jsonschema.get("required", ())) | set(answered)
        if required:
            jsonschema["required"] = sorted(required)
        return jsonschema


class AnswerPlugin(MarshmallowPlugin):
    Converter = AnswerConverter


def schema_name_resolver(schema) -> str:
    """`ClientSchema` -> `Client`; a `partial=True` instance (a PATCH body) -> `ClientPatch`."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Patch"
    return name


# No body of ours nests past a handful of levels; a deeper one is refused before anything recurses
# into it (the JSON decoder, marshmallow, the error renderer would run out of stack: a 500).
MAX_JSON_DEPTH = 32


def json_depth(value) -> int:
    """How deep arrays and objects nest in `value` (a scalar is 0), without recursing."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                pending.extend((inner, depth) for inner in value)
    return deepest


def _decoded(body: bytes | str) -> str:
    """The body as text, UTF-8 as webargs reads it; bytes that are not UTF-8 are not JSON."""
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"Not UTF-8: {exc.reason}", str(exc.object), exc.start) from exc


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""


def shallow_json(body: bytes | str, *, exact: bool = False):
    """JSON as a body of ours may be: TooDeep past MAX_JSON_DEPTH levels (even past what Python's
    stack can read), ValueError when it is not JSON Python reads. Every raw body goes through it:
    the parser's, and the signed webhooks' that are read before any schema.

    `exact` reads a number with a fraction or an exponent as a Decimal, digit for digit: a binary
    float would round 19.999999999999999 to 20.0 before a schema could refuse its places."""
    try:
        if not exact:
            data = core.parse_json(body)
        else:
            data = json.loads(_decoded(body), parse_float=Decimal)
    except RecursionError:
        raise TooDeep(f"nests deeper than {MAX_JSON_DEPTH} levels") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise TooDeep(f"nests deeper than {MAX_JSON_DEPTH} levels")
    return data


class Parser(FlaskParser):
    """Stricter than webargs' default: an unknown query parameter is a 422 and a body that is
    not JSON (or, for an upload, not multipart) is a 400, as API.md requires; text PostgreSQL
    cannot store (NUL, a lone surrogate) is a 422 naming its field, in every location, before
    any schema sees it.

    A schema that loads parts of its input itself (an import, row by row, so that one bad row
    does not sink the others) sets `check_text = False` and checks each part with
    `unstorable_text`."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }

    def load_files(self, req, schema):
        # A body of another kind holds no files: the wrong content type (400), not a missing
        # field (422).
        if req.mimetype != "multipart/form-data":
            raise BadRequest("Content-Type must be multipart/form-data")
        return super().load_files(req, schema)

    def _raw_load_json(self, req):
        body = req.get_data(cache=True)
        if not body:
            raise BadRequest("The request needs a JSON body")
        if not is_json_request(req):
            raise BadRequest("Content-Type must be application/json")
        try:
            return shallow_json(body, exact=True)
        except TooDeep as exc:
            raise BadRequest(f"The JSON body {exc}") from None
        except json.JSONDecodeError:
            raise  # not JSON at all: webargs hands it to _handle_invalid_json_error
        except ValueError as exc:
            # JSON that Python will not read: an integer of more than 4300 digits.
            raise BadRequest("The JSON body holds a number too long to read") from exc

    def pre_load(self, location_data, *, schema, req, location):
        if getattr(schema, "check_text", True):
            errors = unstorable_text(location_data)
            if errors:
                raise ma.ValidationError(errors)
        return location_data

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise BadRequest("The request body is not valid JSON")


LOCATION_HEADER = {
    "description": "Where what this request made is read (or, for a picture, served) from",
    "schema": {"type": "string", "example": "/orders/42"},
}
REPLAYED_HEADER = {
    "description": "Only on the first answer given again for its Idempotency-Key (nothing was "
    "done this time): `true`",
    "schema": {"type": "string", "enum": ["true"]},
}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before asking again",
    "schema": {"type": "integer", "minimum": 1, "example": 5},
}


def answer_headers(status: str, *, keyed: bool) -> dict:
    """The headers an answer of `status` carries besides ETag (`conditional`): every 201 of ours
    names what it made in Location, the success of a write taking an Idempotency-Key (`keyed`)
    may be a replay, and a 429 or 503 says when to try again."""
    headers = {}
    if status == "201":
        headers["Location"] = LOCATION_HEADER
    if keyed and status.startswith("2"):
        headers["Idempotent-Replayed"] = REPLAYED_HEADER
    if status in ("429", "503"):
        headers["Retry-After"] = RETRY_AFTER_HEADER
    return headers


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def _prepare_response_doc(self, doc, doc_info, *, api, spec, **kwargs):
        """As flask-smorest's, and each response names the headers it carries (`answer_headers`):
        here, where every route's responses and problems are documented, every service's
        document gets them."""
        doc = super()._prepare_response_doc(doc, doc_info, api=api, spec=spec, **kwargs)
        # Statuses by their text, as a route's own `doc(responses=...)` names them (`conditional`'s
        # ETag and 304): given 200 and "200", apispec would keep one of the two, and a GET lost
        # its body's schema to its ETag header.
        responses = doc.get("responses", {})
        for status in [status for status in responses if not isinstance(status, str)]:
            response, named = responses.pop(status), responses.get(str(status))
            if isinstance(named, dict) and isinstance(response, dict):
                response = deepupdate(named, response)
            responses[str(status)] = response
        parameters = doc_info.get("manual_doc", {}).get("parameters", [])
        keyed = any(parameter.get("name") == "Idempotency-Key" for parameter in parameters)
        for status, response in doc.get("responses", {}).items():
            headers = answer_headers(str(status), keyed=keyed)
            if headers and isinstance(response, dict) and "$ref" not in response:
                response.setdefault("headers", {}).update(headers)
        return doc

    def response(self, status_code, schema=None, **kwargs):
        """As flask-smorest's; a success without a schema (other than a 204) answers no
        representation of the resource, which `revalidate` and `bodiless_head` must know: it
        sets `g.no_representation`."""
        decorator = super().response(status_code, schema, **kwargs)
        if schema is not None or int(status_code) == 204 or int(status_code) >= 300:
            return decorator

        def marked(func):
            respond = decorator(func)

            @functools.wraps(respond)
            def wrapper(*args, **kwargs):
                g.no_representation = True
                return respond(*args, **kwargs)

            return wrapper

        return marked

    def problem(self, status: int, description: str, *, schema=ProblemSchema):
        """Document an error answer of this route as problem+json (`schema`: one with more
        members, e.g. ShortageProblemSchema)."""
        return self.alt_response(
            status, schema=schema, content_type=PROBLEM_JSON, description=description
        )

    def if_match(self):
        """Document a write that evaluates If-Match (`precondition`): the optional header and
        its 412."""

        def decorator(func):
            func = self.doc(parameters=[IF_MATCH_PARAMETER])(func)
            return self.problem(412, STALE)(func)

        return decorator

    def arguments(self, schema, *, location="json", **kwargs):
        """As flask-smorest's, and a JSON body also documents its 400 (not JSON at all), an
        upload its own (not multipart).

        A schema class is instantiated here, once: given the class, webargs builds an instance
        (and its nested schemas) on every request, a tenth of an order's CPU in orders."""
        if isinstance(schema, type):
            schema = schema()
        parse = super().arguments(schema, location=location, **kwargs)
        refused = {
            "json": "The body is missing or not JSON",
            "files": "The body is not multipart/form-data",
        }.get(location)
        if refused is None:
            return parse
        return lambda func: self.problem(400, refused)(parse(func))

    def internal(self):
        """Only for the services the registry names as this route's callers, by their signed
        credential (kit.security); a user's token alone is refused. Documents 401/403."""

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                require_service_caller()
                return func(*args, **kwargs)

            wrapper = self.problem(401, "No service credential, or a bad or expired one")(wrapper)
            return self.problem(403, "A service this route does not answer")(wrapper)

        return decorator

    def login_required(self, *roles: str):
        """Require a valid bearer token, and one of `roles` when given; documents 401/403."""

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                require_caller(*roles)
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"bearerAuth": []}])(wrapper)
            wrapper = self.problem(401, "No token, or an invalid or expired one")(wrapper)
            if roles:
                wrapper = self.problem(403, f"Only for: {', '.join(roles)}")(wrapper)
            return wrapper

        return decorator


class Api(flask_smorest.Api):
    """flask-smorest's, with problem+json errors, and without the routes only other services
    call (`internal`: the registry's prefixes): the gateway answers 404 there, so the public
    documents and the Swagger UI over them leave them out."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app=None, *, internal: tuple[str, ...] = (), **kwargs):
        self.internal = internal
        super().__init__(app, **kwargs)

    def register_blueprint(self, blp, *, parameters=None, **options):
        super().register_blueprint(blp, parameters=parameters, **options)
        self._leave_out_internal_routes()

    def _leave_out_internal_routes(self):
        # apispec keeps its paths and tags in these two; it offers no way to remove one.
        paths = self.spec._paths
        hidden = [
            path
            for path in paths
            if any(path == prefix or path.startswith(prefix + "/") for prefix in self.internal)
        ]
        hidden_tags = {tag for path in hidden for tag in _tags_of(paths.pop(path))}
        kept_tags = {tag for item in paths.values() for tag in _tags_of(item)}
        self.spec._tags[:] = [
            tag for tag in self.spec._tags if tag["name"] not in hidden_tags - kept_tags
        ]

    def _openapi_json(self):
        """The document, without the schemas only the left-out routes used (`public_document`)."""
        return current_app.response_class(
            current_app.json.dumps(public_document(self.spec.to_dict()), indent=2, sort_keys=False),
            mimetype="application/json",
        )

    def _register_error_handlers(self):
        """The kit's own handlers render every error; see errors.register_error_handlers."""

    def _register_responses(self):
        """As flask-smorest does, but the error answers are documented as problem+json."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            headers = answer_headers(str(status.value), keyed=False)
            if headers:
                response["headers"] = headers
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        self.spec.components.security_scheme(
            "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        )


SCHEMA_REF = "#/components/schemas/"


def _schema_refs(value) -> set[str]:
    """The names of the component schemas `value` refers to (not through them)."""
    found, pending = set(), [value]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
                found.add(ref.removeprefix(SCHEMA_REF))
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def public_document(document: dict) -> dict:
    """`document` without the component schemas no route of it reaches: those of the routes
    left out (`Api.internal`, such as a reservation or a vouched login) and the ones
    flask-smorest registers unasked (PaginationMetadata)."""
    components = document.get("components", {})
    schemas = components.get("schemas", {})
    outside = {key: value for key, value in document.items() if key != "components"}
    outside["components"] = {key: value for key, value in components.items() if key != "schemas"}
    reached, pending = set(), _schema_refs(outside)
    while pending:
        name = pending.pop()
        if name not in reached and name in schemas:
            reached.add(name)
            pending |= _schema_refs(schemas[name])
    components["schemas"] = {name: value for name, value in schemas.items() if name in reached}
    return document


def _tags_of(path_item: dict) -> set[str]:
    return {
        tag
        for operation in path_item.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", [])
    }
