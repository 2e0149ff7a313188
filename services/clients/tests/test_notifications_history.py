"""A client's message history against the REAL notifications service on a local port: its
notifications are made as in production, by order events delivered to its inbox, and clients asks
it with the caller's own token."""

import pytest

from services.clients import create_app
from services.kit.testing import LiveServer, build_app, deliver, truncate_all
from services.notifications import create_app as create_notifications_app

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def notifications(database, jwt_keys):
    app = build_app(create_notifications_app, "notifications", database, jwt_keys)
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(database, jwt_keys, notifications):
    """clients, wired to the served notifications (overrides the suite's app for this module)."""
    urls = {"notifications": notifications.base_url}
    return build_app(create_app, "clients", database, jwt_keys, SERVICE_URLS=urls)


@pytest.fixture
def told(notifications):
    """Deliver an order event to notifications, which queues the client's message."""
    truncate_all(notifications.app)

    def _told(event_type: str, order_id: int, client_id: int):
        data = {
            "order_id": order_id,
            "client_id": client_id,
            "total": "60.50",
            "status": event_type.split(".")[1],
            "note": None,
        }
        answer = deliver(notifications.app, event_type, data)
        assert answer.status_code == 200, answer.json

    return _told


def test_the_admin_reads_a_clients_messages_and_only_that_clients(client, admin, make_client, told):
    owner, other = make_client(), make_client()
    told("order.paid", 11, owner["id"])
    told("order.shipped", 11, owner["id"])
    told("order.paid", 12, other["id"])
    response = client.get(f"/clients/{owner['id']}/notifications", headers=admin)
    assert response.status_code == 200, response.json
    page = response.json
    assert page["total"] == 2 and (page["page"], page["per_page"]) == (1, 20)
    assert {item["client_id"] for item in page["items"]} == {owner["id"]}
    assert {item["template"] for item in page["items"]} == {"order_paid", "order_shipped"}
    assert {item["status"] for item in page["items"]} == {"queued"}


def test_the_filters_and_the_page_reach_notifications(client, admin, make_client, told):
    owner = make_client()
    told("order.paid", 21, owner["id"])
    told("order.shipped", 21, owner["id"])
    told("order.paid", 22, owner["id"])
    path = f"/clients/{owner['id']}/notifications"
    shipped = client.get(f"{path}?template=order_shipped", headers=admin).json
    assert [item["order_id"] for item in shipped["items"]] == [21]
    one = client.get(f"{path}?order_id=22", headers=admin).json
    assert [item["template"] for item in one["items"]] == ["order_paid"]
    paged = client.get(f"{path}?per_page=1&page=2&sort=created_at", headers=admin).json
    assert (paged["total"], paged["page"], len(paged["items"])) == (3, 2, 1)


def test_a_plain_user_is_refused_by_notifications_and_told_so(client, user, make_client, told):
    owner = make_client()
    told("order.paid", 31, owner["id"])
    response = client.get(f"/clients/{owner['id']}/notifications", headers=user)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert "admin" in response.json["detail"]


def test_a_client_without_messages_has_an_empty_page(client, admin, make_client, told):
    owner = make_client()
    told("order.paid", 41, owner["id"] + 1000)
    response = client.get(f"/clients/{owner['id']}/notifications", headers=admin)
    assert response.status_code == 200
    assert response.json == {"items": [], "page": 1, "per_page": 20, "total": 0}
