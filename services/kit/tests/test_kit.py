"""The kit's shared behaviour, pinned on a small app built with create_service_app."""

import contextlib
import http.server
import io
import json
import logging
import re
import threading
from datetime import timedelta
from decimal import Decimal

import jwt
import marshmallow as ma
import pytest
import requests
from sqlalchemy import String, event, text
from sqlalchemy.orm import Mapped, mapped_column
from webargs.fields import DelimitedList

from services.kit import (
    Blueprint,
    Conflict,
    Filter,
    NotFound,
    PageArgs,
    ShortageProblemSchema,
    Unavailable,
    make_db,
    page_schema,
    paginate,
    security,
    service,
    sort_field,
)
from services.kit.fields import Money
from services.kit.httpclient import ServiceClient
from services.kit.pagination import GIVEN_TWICE, GIVEN_TWICE_LIST
from services.kit.testing import access_token, bearer, kit_app, losing_the_first_answer, signed

PROBLEM = "application/problem+json"
db = make_db("auth")


class Widget(db.Model):
    __tablename__ = "kit_test_widgets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class WidgetSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))


class WidgetArgs(PageArgs):
    sort = sort_field("name", default="name")
    # Filters only the kit tests use: free text, and a date bounded by its documented length.
    label = Filter(max_length=40)
    since = ma.fields.Date(metadata={"maxLength": 10})
    kinds = DelimitedList(ma.fields.String(), metadata={"maxLength": 30})
    # A filter that takes repeats (?tag=a&tag=b), as webargs reads a List.
    tag = ma.fields.List(ma.fields.String(metadata={"maxLength": 20}))


blp = Blueprint("widgets", __name__, url_prefix="/widgets")


@blp.route("", methods=["POST"])
@blp.arguments(WidgetSchema)
@blp.response(201, WidgetSchema)
def create(data):
    widget = Widget(**data)
    db.session.add(widget)
    db.session.commit()
    return widget


@blp.route("", methods=["GET"])
@blp.arguments(WidgetArgs, location="query")
@blp.response(200, page_schema(WidgetSchema))
def listing(args):
    return paginate(db, db.select(Widget), args, {"name": Widget.name}, Widget.id)


@blp.route("/admin-only", methods=["GET", "POST"])
@blp.login_required("admin")
def admin_only():
    return {"ok": True}


@blp.route("/by-id/<int:widget_id>")
def by_id(widget_id):
    return {"id": widget_id}


@blp.route("/by-name/<name>")
def by_name(name):
    widget = db.session.scalar(db.select(Widget).where(Widget.name == name))
    return {"id": widget.id if widget else None}


class PartSchema(ma.Schema):
    label = ma.fields.String(required=True)


class AssemblySchema(ma.Schema):
    parts = ma.fields.List(ma.fields.Nested(PartSchema), required=True)


@blp.route("/nested", methods=["POST"])
@blp.arguments(AssemblySchema)
@blp.response(200, AssemblySchema)
def nested(data):
    return data


def _deleted_by_another(name: str) -> None:
    """What a concurrent DELETE does: another connection deletes the row and commits."""
    with db.engine.begin() as other:
        other.execute(text("DELETE FROM kit_test_widgets WHERE name = :name"), {"name": name})


@blp.route("/by-name/<name>", methods=["PATCH"])
def rename(name):
    widget = db.session.scalar(db.select(Widget).where(Widget.name == name))
    _deleted_by_another(name)
    widget.name = name + "-renamed"
    db.session.commit()
    return {"id": widget.id}


@blp.route("/by-name/<name>/copy", methods=["POST"])
def copy(name):
    widget = Widget(name=name + "-copy")
    db.session.add(widget)
    db.session.commit()
    _deleted_by_another(name + "-copy")
    return {"id": widget.id}


@blp.route("/missing")
def missing():
    raise NotFound("Widget 7 does not exist")


@blp.route("/short")
def short():
    raise Conflict("Not enough widgets", extra={"short": [{"id": 7, "missing": 2}]})


class PriceSchema(ma.Schema):
    price = Money()


@blp.route("/price")
@blp.response(200, PriceSchema)
@blp.problem(409, "Out of stock, or a plain conflict", schema=ShortageProblemSchema)
def price():
    return {"price": Decimal("30.25")}


@blp.route("/price", methods=["POST"])
@blp.arguments(PriceSchema)
@blp.response(200, PriceSchema)
def priced(data):
    return data


@blp.route("/boom")
def boom():
    raise RuntimeError("secret internals: password=hunter2")


@blp.route("/upstream")
def upstream():
    return {"status": service("inventory").get("/anything").status_code}


@pytest.fixture(scope="module")
def app(database, jwt_keys):
    app = kit_app(
        __name__,
        db,
        blp,
        database,
        jwt_keys,
        MAX_CONTENT_LENGTH=1024,
        SERVICE_URLS={"inventory": "http://127.0.0.1:9"},
        HTTP_RETRIES=1,
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()


@pytest.fixture
def client(app):
    with app.app_context():
        db.session.execute(text("TRUNCATE kit_test_widgets RESTART IDENTITY"))
        db.session.commit()
    return app.test_client()


def test_an_unknown_route_is_a_404_problem(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 and response.mimetype == PROBLEM
    body = response.json
    assert body["type"].endswith("/not-found") and body["status"] == 404
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_every_answer_says_no_sniffing_and_a_page_may_not_be_framed(app, client):
    listed, missing = client.get("/widgets"), client.get("/nowhere")
    with app.test_request_context():
        page = app.process_response(app.response_class("<p>oi</p>", mimetype="text/html"))
        own = app.response_class("<p>oi</p>", mimetype="text/html")
        own.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        own = app.process_response(own)
    assert listed.headers["X-Content-Type-Options"] == "nosniff"
    assert missing.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in listed.headers
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert own.headers.getlist("Content-Security-Policy") == [
        "default-src 'self'; frame-ancestors 'none'"
    ]


def test_a_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/widgets")
    assert response.status_code == 405 and response.mimetype == PROBLEM
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/widgets", data="{", content_type="application/json")
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_an_empty_body_is_a_400_problem(client):
    response = client.post("/widgets", content_type="application/json")
    assert response.status_code == 400


def test_validation_errors_are_a_422_naming_each_field(client):
    response = client.post("/widgets", json={"name": "", "colour": "red"})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert set(response.json["errors"]) == {"name", "colour"}


def test_a_json_array_instead_of_an_object_is_a_422(client):
    response = client.post("/widgets", json=[1, 2])
    assert response.status_code == 422


def test_a_unique_violation_is_a_409_naming_the_field(client):
    client.post("/widgets", json={"name": "bolt"})
    response = client.post("/widgets", json={"name": "bolt"})
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert response.json["errors"] == {"name": ["already taken"]}


def test_an_id_too_large_for_the_column_is_a_routing_404(client):
    response = client.get("/widgets/by-id/99999999999")
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert client.get("/widgets/by-id/0").status_code == 404


def test_a_row_deleted_before_the_request_writes_it_is_a_404_problem(client):
    client.post("/widgets", json={"name": "gone"})
    response = client.patch("/widgets/by-name/gone")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert "deleted while this request" in response.json["detail"]


def test_a_row_deleted_before_the_request_reads_it_back_is_a_404_problem(client):
    response = client.post("/widgets/by-name/solo/copy")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert "deleted while this request" in response.json["detail"]


def test_a_domain_error_renders_its_own_detail(client):
    response = client.get("/widgets/missing")
    assert response.status_code == 404 and response.json["detail"] == "Widget 7 does not exist"


def test_a_domain_error_may_carry_more_members_for_the_client(client):
    response = client.get("/widgets/short")
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert response.json["short"] == [{"id": 7, "missing": 2}]
    assert response.json["detail"] == "Not enough widgets" and response.json["request_id"]


def test_an_unexpected_error_is_a_500_with_the_request_id_and_no_internals(client, caplog):
    response = client.get("/widgets/boom", headers={"X-Request-ID": "req-12345678"})
    assert response.status_code == 500 and response.mimetype == PROBLEM
    assert response.json["request_id"] == "req-12345678"
    assert "hunter2" not in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)


def test_a_body_over_the_limit_is_a_413_problem(client):
    response = client.post("/widgets", data="x" * 4096, content_type="application/json")
    assert response.status_code == 413 and response.mimetype == PROBLEM


@pytest.mark.parametrize("size", [200 * 1024, 512])
def test_a_body_refused_before_it_is_read_is_read_all_the_same(client, size):
    """Else gunicorn drains 64 KiB and closes the connection nginx will reuse (a 503 next)."""
    body = io.BytesIO(b"[" + b"1," * (size // 2 - 1) + b"1]")
    length = len(body.getvalue())
    response = client.post(
        "/widgets/admin-only",
        input_stream=body,
        content_length=length,
        content_type="application/json",
    )
    assert response.status_code == 401
    assert body.tell() == length


def test_a_body_of_exactly_the_limit_is_answered_not_a_500(client):
    """gunicorn says it ends the input (`wsgi.input_terminated`), so werkzeug bounds the stream
    by the limit and raises 413 on a read past it: draining what the view had read to the end
    once raised that from an after-request hook, a 500 on every service at exactly 1 MiB."""
    padding = 1024 - len(b'{"name": ""}')
    body = b'{"name": "' + b"x" * padding + b'"}'
    assert len(body) == 1024
    response = client.post(
        "/widgets",
        data=body,
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code in (201, 422) and response.mimetype in (PROBLEM, "application/json")


def test_a_valid_request_id_is_kept_and_an_unsafe_one_replaced(client):
    kept = client.get("/health", headers={"X-Request-ID": "abc-123-def-456"})
    assert kept.headers["X-Request-ID"] == "abc-123-def-456"
    replaced = client.get("/health", headers={"X-Request-ID": '"}{"level": "forged'})
    assert replaced.headers["X-Request-ID"] not in ("", '"}{"level": "forged')
    assert len(replaced.headers["X-Request-ID"]) == 32


def _formatted_log_lines(caplog):
    """Each captured record as the kit's JSON handler writes it."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_feira", False))
    return [json.loads(handler.format(record)) for record in caplog.records]


def test_the_request_log_is_json_with_the_request_id_and_no_query_string(client, caplog):
    with caplog.at_level(logging.INFO):
        client.get("/widgets?name=12345678909&page=1", headers={"X-Request-ID": "log-check-0001"})
    lines = _formatted_log_lines(caplog)
    entry = next(line for line in lines if line.get("request_id") == "log-check-0001")
    assert entry["path"] == "/widgets" and entry["status"] == 422
    assert entry["service"] == "auth" and entry["logger"] == "feira.request"
    assert "12345678909" not in json.dumps(lines)


def test_health_is_alive_without_dependencies(client):
    assert client.get("/health").json == {"status": "ok", "service": "auth"}


def test_readiness_reports_the_database_with_its_latency(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["checks"]["database"]["status"] == "ok"
    assert response.json["checks"]["database"]["latency_ms"] >= 0


def test_readiness_is_503_when_a_required_service_is_down(app, client):
    from services.kit.health import service_check

    app.extensions["feira"].readiness_checks["inventory"] = service_check("inventory")
    try:
        response = client.get("/health/ready")
    finally:
        del app.extensions["feira"].readiness_checks["inventory"]
    assert response.status_code == 503
    assert response.json["checks"]["inventory"]["status"] == "down"


def test_pagination_envelope_and_sort(client):
    for name in ("c", "a", "b"):
        client.post("/widgets", json={"name": name})
    body = client.get("/widgets?per_page=2&sort=-name").json
    assert body == {
        "items": [{"id": 1, "name": "c"}, {"id": 3, "name": "b"}],
        "page": 1,
        "per_page": 2,
        "total": 3,
    }
    assert client.get("/widgets?page=2&per_page=2").json["items"] == [{"id": 1, "name": "c"}]


def test_a_page_past_the_end_is_empty_and_still_counts_the_matches(client):
    for name in ("a", "b", "c"):
        client.post("/widgets", json={"name": name})
    body = client.get("/widgets?page=3&per_page=2").json
    assert body == {"items": [], "page": 3, "per_page": 2, "total": 3}
    with client.application.app_context():
        db.session.execute(text("DELETE FROM kit_test_widgets"))
        db.session.commit()
    assert client.get("/widgets").json == {"items": [], "page": 1, "per_page": 20, "total": 0}


def test_a_page_and_its_total_are_read_together_when_rows_go_meanwhile(app, client):
    """Rows deleted by another transaction right after the listing's first statement must not
    shrink `total` below the items the page shows: both come from one snapshot."""
    for name in ("a", "b", "c"):
        client.post("/widgets", json={"name": name})
    deleted = []

    def delete_after_the_first_read(conn, cursor, statement, *args):
        if deleted or not statement.lstrip().upper().startswith("SELECT"):
            return
        if "kit_test_widgets" not in statement:
            return
        with engine.begin() as other:
            deleted.extend(other.execute(text("DELETE FROM kit_test_widgets RETURNING id")))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", delete_after_the_first_read)
    try:
        body = client.get("/widgets?per_page=2").json
    finally:
        event.remove(engine, "after_cursor_execute", delete_after_the_first_read)
    assert len(deleted) == 3  # the rows did go, between the listing's statements if it had two
    assert [widget["name"] for widget in body["items"]] == ["a", "b"]
    assert body["total"] == 3


@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "page=0", "sort=id", "x=1"])
def test_bad_paging_or_unknown_parameters_are_422(client, query):
    response = client.get(f"/widgets?{query}")
    assert response.status_code == 422 and response.mimetype == PROBLEM


@pytest.mark.parametrize(
    ("query", "field", "said"),
    [
        ("page=1&page=2", "page", GIVEN_TWICE),
        ("label=a&per_page=5&label=b", "label", GIVEN_TWICE),
        ("kinds=a&kinds=b,c", "kinds", GIVEN_TWICE_LIST),
    ],
)
def test_a_parameter_given_twice_is_a_422_naming_it_not_read_as_its_first(
    client, query, field, said
):
    response = client.get(f"/widgets?{query}")
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {field: [said]}
    assert client.get("/widgets?kinds=a,b&label=a&page=1").status_code == 200
    assert client.get("/widgets?tag=a&tag=b").status_code == 200  # a List takes repeats


def test_the_role_guard_needs_a_token(client):
    response = client.get("/widgets/admin-only")
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_role_guard_refuses_the_wrong_role_with_403(client, jwt_keys):
    response = client.get("/widgets/admin-only", headers=bearer(access_token(jwt_keys)))
    assert response.status_code == 403 and response.mimetype == PROBLEM


def test_the_role_guard_admits_the_right_role(client, jwt_keys):
    token = access_token(jwt_keys, role="admin")
    assert client.get("/widgets/admin-only", headers=bearer(token)).status_code == 200


def test_a_token_carrying_a_role_feira_does_not_have_is_a_401_not_a_403(client, jwt_keys):
    token = access_token(jwt_keys, role="superuser")
    response = client.get("/widgets/admin-only", headers=bearer(token))
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert "unknown role" in response.json["detail"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_read_in_any_case_as_the_gateway_reads_it(client, jwt_keys, scheme):
    token = access_token(jwt_keys, role="admin")
    headers = {"Authorization": f"{scheme} {token}"}
    assert client.get("/widgets/admin-only", headers=headers).status_code == 200


def test_the_role_guard_refuses_expired_and_garbage_tokens_with_401(client, jwt_keys):
    expired = access_token(jwt_keys, role="admin", expires_in=timedelta(seconds=-60))
    for token in (expired, "not.a.jwt", "abc"):
        response = client.get("/widgets/admin-only", headers=bearer(token))
        assert response.status_code == 401 and response.mimetype == PROBLEM


def refused_tokens(keys: dict) -> dict[str, str]:
    """Bearer tokens the role guard refuses, each for another reason, by that reason."""
    admin = access_token(keys, role="admin")
    claims = jwt.decode(admin, options={"verify_signature": False})
    return {
        "expired": access_token(keys, role="admin", expires_in=timedelta(seconds=-60)),
        "malformed": "not.a.jwt",
        "a refresh token": signed({**claims, "type": "refresh"}, keys),
        "no user id": signed({**claims, "sub": "ana"}, keys),
        "an unknown role": access_token(keys, role="superuser"),
    }


def test_a_refused_bearer_token_is_told_invalid_token_and_no_token_only_the_scheme(
    client, jwt_keys
):
    # RFC 6750 §3: the client tells "sign in again" from "send a token" by the challenge.
    for reason, token in refused_tokens(jwt_keys).items():
        response = client.get("/widgets/admin-only", headers=bearer(token))
        assert response.status_code == 401, reason
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="feira", error="invalid_token"'
        ), reason
    for headers in ({}, {"Authorization": "Basic YW5hOnNlbmhh"}):
        response = client.get("/widgets/admin-only", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="feira"'


# A token signed with auth's own key but unlike any auth issues: only the key's holder can make
# one, and one without exp would never expire.
UNLIKE_AUTHS = [
    *(pytest.param({name: None}, id=f"without-{name}") for name in security.ISSUED_CLAIMS),
    pytest.param({"aud": "another-service"}, id="for-another-audience"),
]


def signed_unlike_auths(keys: dict, token: str, changes: dict) -> str:
    """`token`'s claims with `changes` (None: the claim left out), signed with auth's key."""
    claims = jwt.decode(token, options={"verify_signature": False}) | changes
    claims = {name: value for name, value in claims.items() if value is not None}
    return signed(claims, keys)


@pytest.mark.parametrize("changes", UNLIKE_AUTHS)
def test_a_token_unlike_those_auth_issues_is_refused_with_401(client, jwt_keys, changes):
    token = signed_unlike_auths(jwt_keys, access_token(jwt_keys, role="admin"), changes)
    response = client.get("/widgets/admin-only", headers=bearer(token))
    assert response.status_code == 401 and response.mimetype == PROBLEM


def test_a_dependency_that_is_down_becomes_a_503_problem(client):
    response = client.get("/widgets/upstream")
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert "inventory" in response.json["detail"]


def test_metrics_are_exposed_for_prometheus(client):
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "flask_http_request_duration_seconds" in response.get_data(as_text=True)


def test_the_openapi_document_describes_errors_as_problem_json(client):
    spec = client.get("/auth/openapi.json").json
    responses = spec["paths"]["/widgets"]["post"]["responses"]
    assert "422" in responses
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    problem = spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]
    assert list(problem) == [PROBLEM]


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def _answer(self):
        type(self).hits.append(self.command)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(handler):
    """`handler` on a local port for a block: its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture
def flaky_server():
    _CountingHandler.hits = []
    with serving(_CountingHandler) as url:
        yield url


def test_the_http_client_retries_idempotent_calls_but_never_a_post(app, flaky_server):
    client = ServiceClient("flaky", flaky_server, retries=2)
    with app.test_request_context(), pytest.raises(Unavailable):
        client.get("/x")
    assert _CountingHandler.hits == ["GET"] * 3
    _CountingHandler.hits.clear()
    with app.test_request_context(), pytest.raises(Unavailable):
        client.post("/x", json={})
    assert _CountingHandler.hits == ["POST"]


class _Reserves(http.server.BaseHTTPRequestHandler):
    """Answers 201 to every POST, as inventory does to a reservation (again: the same one)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_post_dropped_unanswered_is_sent_again_only_when_the_call_says_it_is_idempotent(
    app, idempotent
):
    with (
        serving(_Reserves) as upstream,
        losing_the_first_answer(upstream) as (url, seen),
        app.test_request_context(),
    ):
        client = ServiceClient("drops", url)
        if idempotent:
            answer = client.post("/reservations", json={"order_id": 7}, idempotent=True)
            assert answer.status_code == 201
            assert seen == ["/reservations 201"] * 2
        else:
            with pytest.raises(Unavailable):
                client.post("/reservations", json={"order_id": 7})
            assert seen == ["/reservations 201"]


@pytest.mark.parametrize(
    ("status", "detail", "refused"),
    [
        (401, security.CREDENTIAL_REFUSED, "key"),
        (403, security.CALLER_REFUSED, "key"),
        (401, security.CREDENTIAL_OUT_OF_TIME, "clock"),
        (401, "Wrong email or password", None),
        (403, "This action needs the role: admin", None),
    ],
)
def test_a_refused_service_credential_is_a_503_and_an_error_naming_the_key_or_the_clocks(
    app, caplog, status, detail, refused
):
    class Refuses(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": status, "detail": detail}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with serving(Refuses) as url, app.test_request_context():
        client = ServiceClient("inventory", url)
        if refused:
            with pytest.raises(Unavailable):
                client.get("/inventory/reservations/1")
            name = app.config["SERVICE_NAME"].upper()
            if refused == "key":
                assert f"check {name}_SERVICE_KEY" in caplog.text
            else:
                # Well signed but out of the receiver's time window: the keys agree.
                assert "check both clocks" in caplog.text
                assert "SERVICE_KEY" not in caplog.text
        else:
            # The route's own refusal is the caller's to read.
            assert client.get("/inventory/reservations/1").status_code == status
            assert "SERVICE_KEY" not in caplog.text


def test_the_http_client_passes_on_the_callers_token_and_request_id(app):
    seen = {}

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.update(self.headers)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with serving(Echo) as url:
        client = ServiceClient("echo", url)
        with app.test_request_context(headers={"Authorization": "Bearer t0k"}):
            from flask import g

            g.request_id = "rid-000000001"
            client.get("/")
    assert seen["Authorization"] == "Bearer t0k" and seen["X-Request-ID"] == "rid-000000001"


def test_logs_never_carry_the_authorization_header(client, jwt_keys, caplog):
    token = access_token(jwt_keys, role="admin")
    with caplog.at_level(logging.DEBUG):
        client.get("/widgets/admin-only", headers=bearer(token))
        client.get("/widgets/boom", headers=bearer(token))
    assert caplog.records
    assert token not in json.dumps(_formatted_log_lines(caplog))


def test_money_is_documented_as_the_decimal_string_it_answers(client):
    spec = client.get("/auth/openapi.json").json
    price = spec["components"]["schemas"]["Price"]["properties"]["price"]
    answer = client.get("/widgets/price").json["price"]
    assert (price["type"], price["format"], answer) == ("string", "decimal", "30.25")
    assert re.fullmatch(price["pattern"], answer) and re.fullmatch(
        price["pattern"], price["example"]
    )
    assert "JSON number is also accepted" in price["description"]


def test_a_shortage_problem_documents_short_as_optional(client):
    spec = client.get("/auth/openapi.json").json
    conflict = spec["paths"]["/widgets/price"]["get"]["responses"]["409"]["content"][PROBLEM]
    schema = spec["components"]["schemas"][conflict["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "short" in schema["properties"] and "short" not in schema.get("required", [])


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("label", "w" * 41, 40), ("since", "2026-11-23" + "0" * 5000, 10)],
)
def test_an_over_long_filter_of_any_type_is_a_422_naming_it(client, field, value, limit):
    response = client.get("/widgets", query_string={field: value})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["errors"] == {field: [f"Longer than {limit} characters."]}


def test_every_string_filter_documents_its_max_length(client):
    parameters = client.get("/auth/openapi.json").json["paths"]["/widgets"]["get"]["parameters"]
    lengths = {p["name"]: p["schema"].get("maxLength") for p in parameters}
    assert lengths == {
        "page": None,
        "per_page": None,
        "sort": 5,
        "label": 40,
        "since": 10,
        "kinds": 30,
        "tag": None,  # a list: each value's maxLength is its items' (20)
    }


def _answer(content: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = 200, content
    return response


@pytest.mark.parametrize(
    "content", [b"<html>oops</html>", b'{"itens": []}', b'{"items": [{"id": "x"}]}', b"[1, 2]"]
)
def test_an_answer_a_service_cannot_make_sense_of_is_unavailable_not_a_500(content):
    client = ServiceClient("products", "http://127.0.0.1:9")
    with pytest.raises(Unavailable, match="products service answered something unreadable"):
        client.read(_answer(content), lambda body: {int(p["id"]): p for p in body["items"]})


def test_an_answer_a_service_makes_sense_of_is_what_read_makes_of_it():
    client = ServiceClient("products", "http://127.0.0.1:9")
    answer = _answer(b'{"items": [{"id": 7, "name": "Teclado"}]}')
    assert client.read(answer, lambda body: [p["name"] for p in body["items"]]) == ["Teclado"]


# --- text PostgreSQL cannot store, and JSON nested past reason ---

# A lone surrogate arrives as a JSON escape; psycopg cannot encode it, and PostgreSQL refuses NUL.
LONE_SURROGATE = "\\ud800"
NUL = "\\u0000"


def _raw_json(text: str):
    return {"data": text.encode(), "content_type": "application/json"}


def _widget_count(app) -> int:
    with app.app_context():
        return db.session.scalar(text("SELECT count(*) FROM kit_test_widgets"))


@pytest.mark.parametrize("escape", [LONE_SURROGATE, NUL])
def test_a_body_string_postgresql_cannot_store_is_a_422_naming_the_field(app, client, escape):
    response = client.post("/widgets", **_raw_json(f'{{"name": "bolt{escape}"}}'))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["name"]
    assert _widget_count(app) == 0


def test_text_postgresql_cannot_store_is_named_by_its_path_in_a_nested_body(client):
    response = client.post("/widgets/nested", **_raw_json(f'{{"parts": [{{"label": "a{NUL}"}}]}}'))
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["parts.0.label"]


@pytest.mark.parametrize("value", ["bolt\x00", "\x00"])
def test_a_query_string_postgresql_cannot_store_is_a_422_naming_the_parameter(client, value):
    response = client.get("/widgets", query_string={"label": value})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["label"]


def test_a_path_parameter_postgresql_cannot_store_is_a_422_naming_it(client):
    response = client.get("/widgets/by-name/bolt%00")
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["name"]


# The kit's test app takes at most 1 KiB; past a thousand levels the JSON decoder itself gives up.
@pytest.mark.parametrize("body", ["[" * 1000, '{"name": ' + "[" * 1000, "[" * 100 + "]" * 100])
def test_json_nested_past_reason_is_a_400_problem_not_a_500(client, body):
    response = client.post("/widgets", **_raw_json(body))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert "nest" in response.json["detail"]


def test_json_nested_to_a_sensible_depth_is_still_read(client):
    response = client.post("/widgets/nested", json={"parts": [{"label": "a"}]})
    assert response.status_code == 200 and response.json == {"parts": [{"label": "a"}]}


def test_a_key_postgresql_cannot_store_is_named_escaped_so_the_answer_holds_none(client):
    response = client.post("/widgets", **_raw_json(f'{{"name": "bolt", "co{NUL}lour": 1}}'))
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["co\\x00lour"]


def test_sentry_is_sent_neither_local_variables_nor_personal_data():
    import sentry_sdk
    from flask import Flask

    from services.kit.observability import init_sentry

    app = Flask(__name__)
    app.config.update(SENTRY_DSN="https://public@sentry.invalid/1", SERVICE_NAME="clients")
    try:
        init_sentry(app)
        options = sentry_sdk.get_client().options
        assert options["include_local_variables"] is False
        assert options["send_default_pii"] is False
    finally:
        sentry_sdk.init()  # no DSN: a client that sends nothing


def test_a_sentry_report_carries_no_credential_cookie_body_or_query_string(monkeypatch):
    import sentry_sdk
    from flask import Flask

    from services.kit.observability import init_sentry

    reports = []

    class Captured(sentry_sdk.transport.Transport):
        def capture_envelope(self, envelope):
            reports.extend(item.payload.json for item in envelope.items if item.payload.json)

    start = sentry_sdk.init
    monkeypatch.setattr(sentry_sdk, "init", lambda **kw: start(transport=Captured(), **kw))
    app = Flask(__name__)
    app.config.update(SENTRY_DSN="https://public@sentry.invalid/1", SERVICE_NAME="auth")
    with serving(_CountingHandler) as upstream:

        @app.post("/auth/verify")
        def verify_with_the_database_down():
            requests.get(f"{upstream}/x?token=outgoing-query-secret", timeout=5)
            logging.getLogger("feira.errors").error("database unavailable")
            return "", 503

        @app.post("/auth/boom")
        def boom():
            raise RuntimeError("boom")

        try:
            init_sentry(app)
            for path in ("/auth/verify", "/auth/boom"):
                app.test_client().post(
                    f"{path}?code=query-secret",
                    json={"password": "body-secret"},
                    headers={
                        "Authorization": "Bearer bearer-secret",
                        "X-Service-Credential": "gateway.credential-secret",
                        "X-Auth-Assertion": "assertion-secret",
                        "Stripe-Signature": "stripe-secret",
                        "X-Hub-Signature-256": "sha256=hub-secret",
                        "Cookie": "feira_console=cookie-secret",
                        "X-Request-ID": "rid-000000001",
                    },
                )
            sentry_sdk.flush()
        finally:
            start()  # no DSN: a client that sends nothing
    errors = [report for report in reports if "request" in report]
    assert len(errors) == 2
    for error in errors:
        headers = {name.lower(): value for name, value in error["request"]["headers"].items()}
        assert headers["x-request-id"] == "rid-000000001"
    sent = json.dumps(reports)
    assert "secret" not in sent


@pytest.mark.parametrize(
    "number", ["19.999999999999999", "99999999.999999999", "0.0100000000000000001"]
)
def test_a_json_number_with_more_places_than_money_has_is_refused_not_rounded(client, number):
    answer = client.post(
        "/widgets/price", data=f'{{"price": {number}}}', content_type="application/json"
    )
    assert answer.status_code == 422, answer.json
    assert answer.json["errors"] == {"price": ["At most two decimal places."]}


@pytest.mark.parametrize(("number", "read"), [("19.9", "19.90"), ("1e3", "1000.00"), ("7", "7.00")])
def test_a_json_number_money_can_hold_is_read_exactly(client, number, read):
    answer = client.post(
        "/widgets/price", data=f'{{"price": {number}}}', content_type="application/json"
    )
    assert answer.status_code == 200, answer.json
    assert answer.json == {"price": read}


def test_a_filter_is_read_as_text_is_stored_without_the_spaces_at_its_ends():
    assert Filter().deserialize("\u00a0 Ana Souza  ") == "Ana Souza"
    for blank in ("   ", "\t", "\u00a0"):  # no word: a 422, not a search finding every row
        with pytest.raises(ma.ValidationError, match="Must hold a word to find"):
            Filter().deserialize(blank)
