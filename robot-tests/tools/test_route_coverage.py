"""The coverage report fails exactly when a documented status has no scenario."""

from __future__ import annotations

import json

import route_coverage as rc

DOCUMENT = {
    "paths": {
        "/orders/{order_id}": {
            "get": {"responses": {"200": {}, "401": {}, "404": {}, "default": {}}},
        },
        "/orders/reports/sales": {"get": {"responses": {"200": {}, "403": {}}}},
        "/auth/verify": {"get": {"responses": {"200": {}, "401": {}}}},
    }
}


def record(method, path, status):
    return {"method": method, "path": path, "status": status, "suite": "S", "test": "T"}


def routes():
    return rc.without_overridden([*rc.gateway_routes(), *rc.routes_of(DOCUMENT)])


def by_template(found, template):
    return next(r for r in found if r.template == template)


def test_default_is_not_a_status_a_scenario_must_assert():
    orders = by_template(routes(), "/orders/{order_id}")
    assert orders.documented == {200, 401, 404}


def test_a_literal_segment_beats_a_parameter():
    found = routes()
    assert rc.match(found, "GET", "/orders/reports/sales").template == "/orders/reports/sales"
    assert rc.match(found, "GET", "/orders/42").template == "/orders/{order_id}"
    assert rc.match(found, "GET", "/orders/42/items") is None
    assert rc.match(found, "POST", "/orders/42") is None


def test_the_gateway_entry_replaces_a_documented_route_nginx_keeps_to_itself():
    verify = [r for r in routes() if r.template == "/auth/verify"]
    assert [r.documented for r in verify] == [frozenset({404})]
    hidden = [r for r in rc.gateway_routes() if r.template.startswith("/inventory/reservations")]
    assert len(hidden) == 5 and all(r.documented == {404} for r in hidden)


def test_a_route_missing_one_status_is_a_gap():
    found = routes()
    stray = rc.tally(found, [record("GET", "/orders/1", 200), record("GET", "/orders/2", 404)])
    assert stray == []
    assert by_template(found, "/orders/{order_id}").missing == [401]
    text, ok = rc.render(found, stray)
    assert not ok
    assert "GET /orders/{order_id}" in text


def test_every_status_asserted_is_no_gap():
    found = [r for r in routes() if r.template == "/orders/{order_id}"]
    rc.tally(found, [record("GET", f"/orders/{n}", s) for n, s in enumerate((200, 401, 404))])
    text, ok = rc.render(found, [])
    assert ok, text
    assert "1 routes, 3/3 documented statuses" in text


def test_an_asserted_status_the_document_does_not_list_fails_the_report():
    found = [r for r in routes() if r.template == "/orders/{order_id}"]
    rc.tally(found, [record("GET", f"/orders/{n}", s) for n, s in enumerate((200, 401, 404, 500))])
    text, ok = rc.render(found, [])
    assert not ok
    assert "UNDOCUMENTED: GET /orders/{order_id} answered 500" in text


def test_records_of_every_process_are_read(tmp_path):
    (tmp_path / "1.jsonl").write_text(json.dumps(record("GET", "/a", 200)) + "\n")
    (tmp_path / "2.jsonl").write_text(json.dumps(record("GET", "/b", 404)) + "\n")
    assert [r["path"] for r in rc.read_records(tmp_path)] == ["/a", "/b"]


def test_every_route_api_md_names_must_be_in_a_document():
    named = rc.api_md_routes(
        "- `GET /orders/{id}`, `GET|POST /orders/reports/sales`, `GET /status/api/...`\n"
        "- `DELETE /orders/{id}` (admin)"
    )
    assert named == {
        ("GET", "/orders/{id}"),
        ("GET", "/orders/reports/sales"),
        ("POST", "/orders/reports/sales"),
        ("GET", "/status/api/..."),
        ("DELETE", "/orders/{id}"),
    }
    status = rc.Route("GET", "/status/api/summary", frozenset({200}))
    assert rc.undocumented_api_md_routes([*routes(), status], named) == [
        "POST /orders/reports/sales",
        "DELETE /orders/{id}",
    ]


def test_a_route_of_a_service_to_come_is_planned_not_a_gap():
    assert "reviews service" in rc.planned("GET", "/reviews")
    assert rc.planned("GET", "/collector/sources") is None, "the collector runs now"
    assert rc.planned("GET", "/notifications") is None, "notifications runs now"
    assert rc.planned("GET", "/orders/reports/kpis") is None, "the KPIs are served"
    assert rc.planned("DELETE", "/orders/{id}") is None
    assert rc.planned("GET", "/status/api/summary") is None


def test_the_documents_read_are_the_registry_services_documents():
    from services.registry import SERVICES

    # The console serves pages, not an API: it has no document.
    assert set(rc.DOCUMENTS) == {s.document for s in SERVICES if s.document}
    assert "/status/api/openapi.json" in rc.DOCUMENTS
