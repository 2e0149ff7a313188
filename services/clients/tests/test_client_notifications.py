"""`GET /clients/{id}/notifications`: the client's message history, asked of the notifications
service with the caller's own token. A unit test: a small fake notifications on a real local port
(the real service's own suite, and the integration test beside it once it exists, check the
other side) records what it was asked and answers what the test sets."""

import pytest
from flask import Flask, jsonify, request

from services.clients import create_app
from services.kit.testing import LiveServer, build_app, rewired, unreachable_url

PROBLEM = "application/problem+json"
PAGE = {
    "items": [
        {
            "id": 3,
            "channel": "whatsapp",
            "to": "+55 11 9****-5678",
            "template": "order_paid",
            "order_id": 120,
            "client_id": 1,
            "status": "delivered",
            "error": None,
            "attempts": 1,
            "created_at": "2026-12-03T20:00:00+00:00",
            "updated_at": "2026-12-03T20:00:02+00:00",
        }
    ],
    "page": 1,
    "per_page": 20,
    "total": 1,
}


class FakeNotifications:
    """Answers `GET /notifications` with `self.answer` (a status and a body) and records each
    request's query and Authorization header."""

    def __init__(self):
        self.asked: list[tuple[dict, str | None]] = []
        self.answer: tuple[int, object] = (200, PAGE)
        app = Flask("fake-notifications")

        @app.get("/notifications")
        def listed():
            self.asked.append((request.args.to_dict(), request.headers.get("Authorization")))
            status, body = self.answer
            response = jsonify(body)
            response.status_code = status
            if status >= 400:
                response.mimetype = PROBLEM
                response.headers["WWW-Authenticate"] = 'Bearer realm="feira"'
            return response

        self.server = LiveServer(app).start()


@pytest.fixture(scope="module")
def fake():
    served = FakeNotifications()
    yield served
    served.server.stop()


@pytest.fixture(autouse=True)
def reset(fake):
    fake.asked.clear()
    fake.answer = (200, PAGE)


@pytest.fixture(scope="module")
def app(database, jwt_keys, fake):
    urls = {"notifications": fake.server.base_url}
    return build_app(create_app, "clients", database, jwt_keys, SERVICE_URLS=urls)


def test_the_history_is_notifications_page_asked_with_the_callers_token(
    client, admin, make_client, fake
):
    owner = make_client()
    response = client.get(
        f"/clients/{owner['id']}/notifications?status=delivered&template=order_paid&per_page=5",
        headers=admin,
    )
    assert response.status_code == 200
    assert response.json == PAGE
    [(query, authorization)] = fake.asked
    assert query == {
        "client_id": str(owner["id"]),
        "status": "delivered",
        "template": "order_paid",
        "page": "1",
        "per_page": "5",
    }
    assert authorization == admin["Authorization"]


def test_notifications_refusal_of_a_user_is_answered_as_it_gave_it(client, user, make_client, fake):
    owner = make_client()
    refusal = {
        "type": "https://feira.dev/problems/forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "This action needs the role: admin",
        "request_id": "abc",
    }
    fake.answer = (403, refusal)
    response = client.get(f"/clients/{owner['id']}/notifications", headers=user)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert response.json["detail"] == "This action needs the role: admin"


def test_an_unknown_client_is_a_404_and_notifications_is_not_asked(client, admin, fake):
    response = client.get("/clients/999/notifications", headers=admin)
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert fake.asked == []


def test_no_token_is_a_401_and_notifications_is_not_asked(client, make_client, fake):
    owner = make_client()
    assert client.get(f"/clients/{owner['id']}/notifications").status_code == 401
    assert fake.asked == []


@pytest.mark.parametrize(
    "query", ["channel=sms", "status=lost", "template=hello", "order_id=0", "sort=name", "x=1"]
)
def test_a_filter_notifications_does_not_know_is_a_422_here(
    client, admin, make_client, fake, query
):
    owner = make_client()
    response = client.get(f"/clients/{owner['id']}/notifications?{query}", headers=admin)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert fake.asked == []


@pytest.mark.parametrize("answer", [(200, {"items": "nope"}), (200, []), (500, {}), (404, {})])
def test_an_answer_that_is_not_a_page_or_a_refusal_is_a_503(
    client, admin, make_client, fake, answer
):
    owner = make_client()
    fake.answer = answer
    response = client.get(f"/clients/{owner['id']}/notifications", headers=admin)
    assert response.status_code == 503 and response.mimetype == PROBLEM


@pytest.mark.parametrize("down", [True, False], ids=["unreachable", "not-configured"])
def test_notifications_down_or_not_configured_is_a_503(app, client, admin, make_client, down):
    owner = make_client()
    urls = {"notifications": unreachable_url()} if down else {}
    with rewired(app, SERVICE_URLS=urls):
        response = client.get(f"/clients/{owner['id']}/notifications", headers=admin)
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert "notifications" in response.json["detail"]
