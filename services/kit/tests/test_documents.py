"""Every service's OpenAPI document bounds every string query parameter, so a client (or a
fuzzer) that follows the documents never builds a URL the gateway refuses; and it describes a
problem as every problem is: with its type, title, status and detail."""

import importlib
import random
import re

import pytest

from services.kit.makers import random_cpf
from services.kit.testing import build_app
from services.registry import BY_NAME

APPS = {
    "auth": "services.auth",
    "clients": "services.clients",
    "products": "services.products",
    "inventory": "services.inventory",
    "orders": "services.orders",
    "monitoring": "monitoring",
}
# Every service with a public document (the checks above run on the first ones).
EVERY_APP = {
    **APPS,
    "payments": "services.payments",
    "notifications": "services.notifications",
    "collector": "services.collector",
}

# What every answer of a main resource carries, set by the server: a client generated from the
# documents must find each required (readOnly: in answers only). A nullable one is still there.
SERVER_SET = {
    "auth": {"User": {"id", "email", "name", "role", "active", "created_at", "updated_at"}},
    "clients": {
        "Client": {"id", "created_at", "updated_at"},
        "Address": {"id", "client_id"},
        "Favorite": {"client_id", "product_id", "created_at"},
        "FavoriteProduct": {"product_id", "name", "price", "active", "added_at"},
        "ClientNotification": {"id", "channel", "to", "template", "status", "created_at"},
    },
    "products": {
        "Category": {"id", "created_at", "updated_at"},
        "Product": {"id", "available_quantity", "images", "created_at", "updated_at"},
        "Image": {"id", "url", "thumbnail_url"},
        "ImportResult": {"created", "updated", "rejected"},
        "RejectedRow": {"index", "reason", "errors"},
    },
    "inventory": {
        "Stock": {"product_id", "on_hand", "reserved", "available", "updated_at"},
        "Movement": {"id", "product_id", "reason", "on_hand_after", "created_by", "created_at"},
        "Holding": {"id", "client_id", "product_name", "acquired_at"},
    },
    "orders": {
        "Order": {
            "id",
            "status",
            "total",
            "payment_id",
            "refunded_amount",
            "shipped_to",
            "created_by",
            "created_at",
            "updated_at",
            "history",
        },
        "OrderItem": {"product_name", "category_id", "unit_price", "line_total"},
        "History": {"status", "at", "by", "note"},
        "Kpi": {"from", "to", "gmv", "orders", "net", "by_day", "by_state"},
    },
    "payments": {
        "Payment": {
            "id",
            "status",
            "amount",
            "currency",
            "provider_ref",
            "failure_reason",
            "refunded_amount",
            "needs_review",
            "created_at",
            "updated_at",
        }
    },
    "notifications": {
        "Notification": {
            "id",
            "channel",
            "to",
            "template",
            "order_id",
            "client_id",
            "status",
            "error",
            "attempts",
            "created_at",
            "updated_at",
        }
    },
    "collector": {
        "Source": {"id", "last_run", "created_at", "updated_at"},
        "Run": {"id", "source_id", "status", "queued_at", "started_at", "rejected"},
        "RunSummary": {"id", "status", "started_at", "finished_at"},
    },
    "monitoring": {
        "Summary": {"targets", "incidents_open", "worker"},
        "TargetSummary": {"name", "state", "last_checked_at", "uptime", "latency_ms"},
        "Incident": {"id", "target", "state", "started_at", "ended_at", "root_cause"},
        "Series": {"name", "state", "from", "to", "resolution", "points"},
        "Point": {"at", "checks", "failures", "uptime", "p50", "p95"},
    },
}
# Schemas only the routes other services call use: not in the public documents.
INTERNAL_SCHEMAS = {
    "auth": {"VouchedLogin", "VouchedRegister"},
    "clients": {"Contact"},
    "products": {"CollectedProduct", "CollectedResult"},
    "inventory": {"Reservation", "NewReservation", "ReservationItem", "ReservationLines"},
}


def unbounded_strings(document: dict) -> list[str]:
    found = []
    for path, item in document["paths"].items():
        # Path parameters are listed once for the path, the others per operation.
        parameters = [("", p) for p in item.get("parameters", [])] + [
            (method.upper(), p)
            for method, operation in item.items()
            if method != "parameters"
            for p in operation.get("parameters", [])
        ]
        for method, parameter in parameters:
            schema = parameter["schema"]
            if schema.get("type") == "array":
                schema = schema["items"]
            if schema.get("type") == "string" and "maxLength" not in schema:
                found.append(f"{method} {path} {parameter['in']} {parameter['name']}".strip())
    return found


def service_app(service, database, jwt_keys, tmp_path):
    create_app = importlib.import_module(EVERY_APP[service]).create_app
    return build_app(
        create_app, service, database, jwt_keys, OUTBOX_SECRET="x", MEDIA_DIR=str(tmp_path)
    )


def document_of(app) -> dict:
    prefix = app.config["OPENAPI_URL_PREFIX"]
    return app.test_client().get(f"{prefix}/openapi.json").json


@pytest.fixture(params=list(APPS))
def app(request, database, jwt_keys, tmp_path):
    return service_app(request.param, database, jwt_keys, tmp_path)


@pytest.fixture
def document(app) -> dict:
    return document_of(app)


@pytest.fixture(params=list(EVERY_APP))
def every_app(request, database, jwt_keys, tmp_path):
    return service_app(request.param, database, jwt_keys, tmp_path)


@pytest.fixture
def every_document(every_app) -> dict:
    return document_of(every_app)


def bounded_query_strings(document: dict):
    """(path, name, maxLength) of every GET's bounded string query parameter (or array item)."""
    for path, item in document["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            schema = parameter["schema"]
            if schema.get("type") == "array":
                schema = schema["items"]
            if parameter["in"] == "query" and "maxLength" in schema:
                yield path, parameter["name"], schema["maxLength"]


def test_every_string_parameter_has_a_max_length(document):
    assert unbounded_strings(document) == []


def test_every_problem_schema_requires_what_every_problem_has(document):
    problems = {
        name: schema
        for name, schema in document["components"]["schemas"].items()
        if name.endswith("Problem")
    }
    assert "Problem" in problems
    for name, schema in problems.items():
        assert {"type", "title", "status", "detail"} <= set(schema["required"]), name


def test_every_documented_max_length_is_enforced_with_a_422_naming_it(app, document, admin):
    client = app.test_client()
    checked = 0
    for path, name, limit in bounded_query_strings(document):
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.get(url, query_string={name: "x" * (limit + 1)}, headers=admin)
        assert response.status_code == 422, (path, name, response.status_code)
        named = [key for key in response.json["errors"] if key.split(".")[0] == name]
        assert named, (path, name, response.json)
        checked += 1
    assert checked > 0


def test_no_document_lists_a_route_only_other_services_call(app, document):
    """`/auth/verify` and inventory's reservations answer 404 through the gateway: the public
    documents (and the Swagger UI over them) leave them out, with their tags."""
    service = app.config["SERVICE_NAME"]
    internal = tuple(route.prefix for route in BY_NAME[service].internal)
    listed = [
        path
        for path in document["paths"]
        if any(path == prefix or path.startswith(prefix + "/") for prefix in internal)
    ]
    assert listed == []
    tags = {tag["name"] for tag in document.get("tags", [])}
    assert "internal" not in tags
    used = {
        tag
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", [])
    }
    assert "internal" not in used and tags <= used | {"health"}


def responses(document: dict):
    """(operation, status, response) of every documented answer, a component's resolved."""
    components = document["components"].get("responses", {})
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            keyed = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = components[response["$ref"].rsplit("/", 1)[1]]
                yield (f"{method.upper()} {path}", keyed), status, response


def undocumented_headers(document: dict) -> list[str]:
    """Each answer that carries a header the document does not name: Location on a 201 (every
    one of ours sets it), Idempotent-Replayed on a keyed write's success (a replay), Retry-After
    on a 429 or a 503."""
    missing = []
    for (operation, keyed), status, response in responses(document):
        wanted = []
        if status == "201":
            wanted.append("Location")
        if keyed and status.startswith("2"):
            wanted.append("Idempotent-Replayed")
        if status in ("429", "503"):
            wanted.append("Retry-After")
        missing += [
            f"{operation} {status} {name}"
            for name in wanted
            if name not in response.get("headers", {})
        ]
    return missing


def test_every_answer_names_the_location_replay_and_retry_headers_it_carries(document):
    assert undocumented_headers(document) == []


@pytest.mark.parametrize("app", ["orders"], indirect=True)
def test_placing_an_order_documents_its_location_its_replay_and_when_to_retry(document):
    placed = document["paths"]["/orders"]["post"]["responses"]
    assert set(placed["201"]["headers"]) >= {"Location", "Idempotent-Replayed"}
    assert placed["201"]["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]
    assert placed["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    # Not a keyed write: no replay to name.
    listed = document["paths"]["/orders"]["get"]["responses"]
    assert "Idempotent-Replayed" not in listed["200"].get("headers", {})


def schema_refs(value) -> set[str]:
    if isinstance(value, dict):
        ref = value.get("$ref", "")
        found = {ref.rsplit("/", 1)[1]} if ref.startswith("#/components/schemas/") else set()
        return found.union(*(schema_refs(inner) for inner in value.values()))
    if isinstance(value, list):
        return set().union(*(schema_refs(inner) for inner in value))
    return set()


def test_every_server_set_field_of_an_answer_is_required_and_read_only(every_app, every_document):
    schemas = every_document["components"]["schemas"]
    for name, server_set in SERVER_SET[every_app.config["SERVICE_NAME"]].items():
        properties, required = schemas[name]["properties"], set(schemas[name]["required"])
        assert server_set <= required, (name, server_set - required)
        assert all(properties[field].get("readOnly") for field in server_set), name


@pytest.mark.parametrize("every_app", ["clients"], indirect=True)
def test_a_required_read_only_field_is_not_asked_of_a_request(every_app, every_document, admin):
    client = every_document["components"]["schemas"]["Client"]
    assert {"id", "created_at", "updated_at"} <= set(client["required"])
    given = {name for name in client["required"] if not client["properties"][name].get("readOnly")}
    assert given == {"name", "email", "cpf"}
    # A CPF and e-mail of its own: the database is shared with every other test of clients.
    cpf = random_cpf(random.Random())
    body = {
        "name": "Ana Souza",
        "email": f"ana.{cpf[:3]}{cpf[4:7]}{cpf[8:11]}@example.com",
        "cpf": cpf,
    }
    made = every_app.test_client().post("/clients", json=body, headers=admin)
    assert made.status_code == 201, made.json
    assert set(client["required"]) <= set(made.json)


@pytest.mark.parametrize("every_app", ["payments"], indirect=True)
def test_a_field_an_answer_may_leave_out_stays_optional(every_document):
    """A card payment's answer has no `pix`: the document does not promise it."""
    payment = every_document["components"]["schemas"]["Payment"]
    assert "pix" in payment["properties"] and "pix" not in payment["required"]


def test_no_document_holds_a_schema_none_of_its_routes_use(every_app, every_document):
    schemas = every_document["components"]["schemas"]
    assert not INTERNAL_SCHEMAS.get(every_app.config["SERVICE_NAME"], set()) & set(schemas)
    outside = {key: value for key, value in every_document.items() if key != "components"}
    outside["components"] = {
        key: value for key, value in every_document["components"].items() if key != "schemas"
    }
    reached, pending = set(), schema_refs(outside)
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending |= schema_refs(schemas[name])
    assert set(schemas) == reached


def test_every_answer_with_a_body_names_its_schema(every_document):
    """A `@conditional` GET documents its ETag and 304 beside its body's schema, not instead."""
    bodiless = []
    for path, item in every_document["paths"].items():
        for method, operation in item.items():
            if method in ("parameters", "head"):
                continue
            for status, response in operation["responses"].items():
                answered = status in ("200", "201") and "webhooks" not in path
                if answered and "$ref" not in response and "content" not in response:
                    bodiless.append(f"{method.upper()} {path} {status}")
    assert bodiless == []
