"""Input auth cannot store or read, sent to its unauthenticated routes: a 4xx problem, not a 500."""

import json

import pytest

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("field", ["email", "password"])
@pytest.mark.parametrize("escape", ["\\ud800", "\\u0000"])
def test_login_with_text_postgresql_cannot_store_is_a_422_naming_the_field(client, field, escape):
    # Sent as raw JSON: a lone surrogate or a NUL escape, which no text column can hold.
    body = {"email": "ana@example.com", "password": "s3nha-forte"}
    body[field] += "\x01"
    raw = json.dumps(body).replace("\\u0001", escape)
    response = client.post("/auth/login", data=raw, content_type="application/json")
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == [field]


def test_a_register_body_nested_ten_thousand_deep_is_a_400_problem(client):
    response = client.post("/auth/register", data="[" * 10_000, content_type="application/json")
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_a_login_with_a_number_too_long_for_python_to_read_is_a_400_problem(client):
    body = '{"email": ' + "9" * 5000 + ', "password": "s3nha-forte"}'
    response = client.post("/auth/login", data=body, content_type="application/json")
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert "number" in response.json["detail"]
