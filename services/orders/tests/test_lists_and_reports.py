"""Finding orders (every filter and sort) and the sales report computed in SQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.orders.models import Order, db

from .conftest import order_body, paid_then_refunded


@pytest.fixture
def shop(client, user, admin, make_client, make_product, make_category):
    """Two clients, two categories, three orders: ana's two (one paid), bia's one (delivered)."""
    tools, toys = make_category(), make_category()
    ana, bia = make_client(), make_client()
    hammer = make_product(stock=50, price="20.00", category_id=tools)
    ball = make_product(stock=50, price="5.50", category_id=toys)

    def place(buyer, *lines):
        response = client.post("/orders", json=order_body(buyer["id"], *lines), headers=user)
        assert response.status_code == 201, response.json
        return response.json["id"]

    first = place(ana, (hammer["id"], 1))
    second = place(ana, (ball["id"], 2), (hammer["id"], 2))
    third = place(bia, (ball["id"], 4))
    for status in ("paid",):
        client.post(f"/orders/{second}/status", json={"status": status}, headers=admin)
    for status in ("paid", "shipped", "delivered"):
        client.post(f"/orders/{third}/status", json={"status": status}, headers=admin)
    # The first a week ago, the others today.
    with client.application.app_context():
        db.session.execute(
            update(Order)
            .where(Order.id == first)
            .values(created_at=datetime.now(UTC) - timedelta(days=7))
        )
        db.session.commit()
    return {
        "orders": (first, second, third),
        "clients": (ana["id"], bia["id"]),
        "categories": (tools, toys),
        "products": (hammer["id"], ball["id"]),
    }


def ids(client, headers, **query):
    response = client.get("/orders", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return [order["id"] for order in response.json["items"]]


def test_filters(client, user, shop):
    first, second, third = shop["orders"]
    ana, bia = shop["clients"]
    tools, toys = shop["categories"]
    hammer, _ = shop["products"]
    assert ids(client, user, sort="created_at") == [first, second, third]
    assert ids(client, user, id=second) == [second]
    assert ids(client, user, client_id=bia) == [third]
    assert ids(client, user, status="paid") == [second]
    assert sorted(ids(client, user, status="pending,paid,shipped")) == [first, second]
    assert sorted(ids(client, user, category_id=tools)) == [first, second]
    assert sorted(ids(client, user, category_id=toys)) == [second, third]
    assert sorted(ids(client, user, product_id=hammer)) == [first, second]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert sorted(ids(client, user, created_from=yesterday)) == [second, third]
    assert ids(client, user, created_to=yesterday) == [first]
    assert ids(client, user, client_id=ana, status="pending") == [first]


def test_orders_are_found_by_their_shipping_address(client, user, make_client, make_product):
    buyer, other = make_client(address=True), make_client(address=True)
    product = make_product(stock=10)

    def place(who, **more):
        body = order_body(who["id"], (product["id"], 1), **more)
        response = client.post("/orders", json=body, headers=user)
        assert response.status_code == 201, response.json
        return response.json["id"]

    to_it = place(buyer, shipping_address_id=buyer["address_id"])
    place(buyer)
    place(other, shipping_address_id=other["address_id"])
    address = buyer["address_id"]
    assert ids(client, user, shipping_address_id=address) == [to_it]
    assert ids(client, user, client_id=buyer["id"], shipping_address_id=address) == [to_it]
    assert ids(client, user, client_id=other["id"], shipping_address_id=address) == []


def test_sorting_by_total(client, user, shop):
    first, second, third = shop["orders"]
    assert ids(client, user, sort="total") == [first, third, second]
    assert ids(client, user, sort="-total") == [second, third, first]


def test_unknown_filters_sorts_and_statuses_are_422(client, user, shop):
    for query in ({"colour": "red"}, {"sort": "client_id"}, {"status": "lost"}):
        assert client.get("/orders", query_string=query, headers=user).status_code == 422


def test_the_list_pages(client, user, shop):
    page = client.get("/orders", query_string={"per_page": 2, "page": 2}, headers=user).json
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2


def report(client, headers, **query):
    response = client.get("/orders/reports/sales", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_sales_by_product_count_paid_and_beyond(client, admin, shop):
    hammer, ball = shop["products"]
    rows = report(client, admin, group_by="product")
    assert [(row["key"], row["units"], row["revenue"], row["orders"]) for row in rows] == [
        (hammer, 2, "40.00", 1),
        (ball, 6, "33.00", 2),
    ]
    assert rows[0]["label"].startswith("Produto")


def test_sales_by_client_category_and_day(client, admin, shop):
    ana, bia = shop["clients"]
    tools, toys = shop["categories"]
    by_client = report(client, admin, group_by="client")
    assert [(row["key"], row["revenue"], row["orders"]) for row in by_client] == [
        (ana, "51.00", 1),
        (bia, "22.00", 1),
    ]
    by_category = report(client, admin, group_by="category")
    assert [(row["key"], row["units"]) for row in by_category] == [(tools, 2), (toys, 6)]
    today = datetime.now(UTC).date()
    by_day = report(client, admin, group_by="day", **{"from": today.isoformat()})
    assert by_day == [
        {
            "key": today.isoformat(),
            "label": None,
            "units": 8,
            "revenue": "73.00",
            "orders": 2,
            "refunded": "0.00",
            "net": "73.00",
        }
    ]
    assert report(client, admin, group_by="day", to=(today - timedelta(days=1)).isoformat()) == []


def test_refunds_count_in_the_rows_of_a_day_or_client_and_in_the_totals_of_every_grouping(
    client, user, admin, shop
):
    ana, bia = shop["clients"]
    hammer, _ = shop["products"]
    placed = client.post("/orders", json=order_body(bia, (hammer, 1)), headers=user)
    paid_then_refunded(client, placed.json["id"], payment_id=9, total="20.00", refunded="7.50")
    answer = client.get(
        "/orders/reports/sales", query_string={"group_by": "client"}, headers=admin
    ).json
    assert [
        (row["key"], row["revenue"], row["refunded"], row["net"]) for row in answer["items"]
    ] == [
        (ana, "51.00", "0.00", "51.00"),
        (bia, "42.00", "7.50", "34.50"),
    ]
    today = datetime.now(UTC).date().isoformat()
    by_day = report(client, admin, group_by="day", **{"from": today})
    assert [(row["revenue"], row["refunded"], row["net"]) for row in by_day] == [
        ("93.00", "7.50", "85.50")
    ]
    totals = {"units": 9, "revenue": "93.00", "orders": 3, "refunded": "7.50", "net": "85.50"}
    for group_by in ("day", "client", "product", "category"):
        answer = client.get(
            "/orders/reports/sales", query_string={"group_by": group_by}, headers=admin
        ).json
        assert answer["totals"] == totals, group_by
    # A refund is of an order's payment, not of its lines: a product's row does not guess.
    by_product = report(client, admin, group_by="product")
    assert {(row["refunded"], row["net"]) for row in by_product} == {(None, None)}


def test_an_empty_report_totals_zeros(client, admin, shop):
    answer = client.get(
        "/orders/reports/sales",
        query_string={"group_by": "product", "from": "2020-01-01", "to": "2020-01-02"},
        headers=admin,
    ).json
    assert answer["items"] == []
    assert answer["totals"] == {
        "units": 0,
        "revenue": "0.00",
        "orders": 0,
        "refunded": "0.00",
        "net": "0.00",
    }


def test_the_last_day_of_the_calendar_is_a_valid_report_end(client, admin, shop):
    response = client.get(
        "/orders/reports/sales", query_string={"group_by": "day", "to": "9999-12-31"}, headers=admin
    )
    assert response.status_code == 200


def test_a_window_mixing_offset_and_plain_times_is_read_as_utc(client, user, shop):
    query = {"created_from": "2020-01-01T00:00:00Z", "created_to": "2999-01-02T00:00:00"}
    response = client.get("/orders", query_string=query, headers=user)
    assert response.status_code == 200 and response.json["total"] >= 1
    backwards = {"created_from": "2999-01-01T00:00:00", "created_to": "2020-01-01T00:00:00Z"}
    assert client.get("/orders", query_string=backwards, headers=user).status_code == 422


def test_the_report_is_the_admins(client, user, shop):
    response = client.get("/orders/reports/sales", query_string={"group_by": "day"}, headers=user)
    assert response.status_code == 403


def test_the_report_needs_a_known_grouping(client, admin, shop):
    for query in ({}, {"group_by": "week"}):
        response = client.get("/orders/reports/sales", query_string=query, headers=admin)
        assert response.status_code == 422


def test_a_report_period_that_ends_before_it_starts_is_a_422_naming_to(client, admin, shop):
    query = {"group_by": "day", "from": "2026-12-05", "to": "2026-12-01"}
    response = client.get("/orders/reports/sales", query_string=query, headers=admin)
    assert response.status_code == 422
    assert response.json["errors"]["to"] == ["Must not be before from."]
    same_day = {"group_by": "day", "from": "2026-12-05", "to": "2026-12-05"}
    one_day = client.get("/orders/reports/sales", query_string=same_day, headers=admin)
    assert one_day.status_code == 200
