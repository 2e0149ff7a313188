"""Every service's OpenAPI document bounds every string query parameter, so a client (or a
fuzzer) that follows the documents never builds a URL the gateway refuses; and it describes a
problem as every problem is: with its type, title, status and detail."""

import importlib
import re

import pytest

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


@pytest.fixture(params=list(APPS))
def app(request, database, jwt_keys, tmp_path):
    service = request.param
    create_app = importlib.import_module(APPS[service]).create_app
    return build_app(
        create_app, service, database, jwt_keys, OUTBOX_SECRET="x", MEDIA_DIR=str(tmp_path)
    )


@pytest.fixture
def document(app) -> dict:
    prefix = app.config["OPENAPI_URL_PREFIX"]
    return app.test_client().get(f"{prefix}/openapi.json").json


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
