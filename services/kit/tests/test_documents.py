"""Every service's OpenAPI document bounds every string query parameter, so a client (or a
fuzzer) that follows the documents never builds a URL the gateway refuses; and it describes a
problem as every problem is: with its type, title, status and detail."""

import importlib

import pytest

from services.kit.testing import build_app

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
def document(request, database, jwt_keys, tmp_path) -> dict:
    service = request.param
    create_app = importlib.import_module(APPS[service]).create_app
    app = build_app(
        create_app, service, database, jwt_keys, OUTBOX_SECRET="x", MEDIA_DIR=str(tmp_path)
    )
    prefix = app.config["OPENAPI_URL_PREFIX"]
    return app.test_client().get(f"{prefix}/openapi.json").json


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
