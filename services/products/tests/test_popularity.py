"""`sort=popularity`: units on paid orders of the last 30 days, heard from orders' events; a
cancelled order stops counting, whichever of its events arrives first."""

from datetime import UTC, datetime, timedelta

import pytest

from services.kit.testing import deliver

NOW = datetime.now(UTC)


def paid(app, order_id: int, *lines, days_ago: int = 0) -> None:
    data = {
        "order_id": order_id,
        "client_id": 1,
        "total": "1.00",
        "status": "paid",
        "note": None,
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
        "paid_at": (NOW - timedelta(days=days_ago)).isoformat(),
    }
    response = deliver(app, "order.paid", data)
    assert response.status_code == 200, response.json


def cancelled(app, order_id: int, *lines, previous_status: str = "paid") -> None:
    data = {
        "order_id": order_id,
        "client_id": 1,
        "total": "1.00",
        "status": "cancelled",
        "note": None,
        "previous_status": previous_status,
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
    }
    response = deliver(app, "order.cancelled", data)
    assert response.status_code == 200, response.json


def by(client, user, sort: str) -> list[int]:
    response = client.get("/products", query_string={"sort": sort}, headers=user)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


@pytest.fixture
def three(make_product):
    return [make_product()["id"] for _ in range(3)]


def test_popularity_sorts_by_units_sold_in_the_last_30_days(app, client, user, three):
    first, second, third = three
    paid(app, 1, (second, 5), (third, 1))
    paid(app, 2, (third, 2), days_ago=29)
    # 31 days ago: no longer counted.
    paid(app, 3, (first, 50), days_ago=31)
    assert by(client, user, "-popularity") == [second, third, first]
    assert by(client, user, "popularity") == [first, third, second]


def test_a_cancelled_paid_order_stops_counting(app, client, user, three):
    first, second, third = three
    paid(app, 1, (first, 5))
    paid(app, 2, (second, 2))
    cancelled(app, 1, (first, 5))
    # first is back to none sold: after second, tied with third (the older first).
    assert by(client, user, "-popularity") == [second, first, third]


def test_a_cancellation_heard_before_the_payment_still_wins(app, client, user, three):
    first, second, _ = three
    cancelled(app, 7, (first, 9))
    paid(app, 7, (first, 9))
    paid(app, 8, (second, 1))
    assert by(client, user, "-popularity")[0] == second


def test_a_redelivered_payment_counts_once_and_a_pending_cancellation_changes_nothing(
    app, client, user, three
):
    first, second, _ = three
    paid(app, 1, (first, 2))
    paid(app, 1, (first, 2))
    paid(app, 2, (second, 3))
    cancelled(app, 3, (second, 1), previous_status="pending")
    assert by(client, user, "-popularity")[:2] == [second, first]


def test_ties_in_popularity_go_by_ascending_id_either_way(app, client, user, three):
    first, second, third = three
    assert by(client, user, "popularity") == [first, second, third]
    assert by(client, user, "-popularity") == [first, second, third]
    paid(app, 1, (third, 2), (second, 2))
    assert by(client, user, "-popularity") == [second, third, first]
    assert by(client, user, "popularity") == [first, second, third]


def test_a_paid_event_without_its_lines_is_rejected_not_a_500(app):
    response = deliver(app, "order.paid", {"order_id": 1, "paid_at": NOW.isoformat()})
    assert response.status_code != 500
