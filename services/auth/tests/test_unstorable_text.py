"""Input auth cannot store or read, sent to its unauthenticated routes: a 4xx problem, not a 500."""

import json

import pytest

from services.kit.testing import from_service

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


@pytest.mark.parametrize("door", ["login", "vouched/login"])
def test_a_login_email_that_grows_when_lower_cased_is_the_usual_401(client, door):
    # "İ" lower-cases to two characters: 200 of them fit the field but not an account's address.
    body, headers = {"email": "İ" * 200, "password": "whatever1"}, {}
    if door == "vouched/login":
        body["address"], headers = "203.0.113.7", from_service("console", "auth")
    answers = [client.post(f"/auth/{door}", json=body, headers=headers) for _ in range(6)]
    # No account can hold that address, so there is nothing to throttle: never a 429 either.
    assert [a.status_code for a in answers] == [401] * 6
    assert answers[-1].mimetype == PROBLEM
    assert answers[-1].json["detail"] == "The email or password is wrong"
