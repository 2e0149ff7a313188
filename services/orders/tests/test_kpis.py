"""The sales KPIs of a period, every figure against one computed by hand from the orders placed
here, its series, its bounds, its defaults, and who may read it."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import update

from services.orders.models import KnownAddress, Order, db

from .conftest import order_body, paid_then_refunded


def kpis(client, headers, **query):
    response = client.get("/orders/reports/kpis", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def created_at(client, order_id: int, when: datetime) -> None:
    with client.application.app_context():
        db.session.execute(update(Order).where(Order.id == order_id).values(created_at=when))
        db.session.commit()


@pytest.fixture
def today() -> date:
    """Today (UTC) when the test runs, not when the module was collected."""
    return datetime.now(UTC).date()


@pytest.fixture
def day(today):
    """The date `offset` days from today."""
    return lambda offset: today + timedelta(days=offset)


@pytest.fixture
def since(day):
    """The query for `offset` days ago to today, both given: the server's today would be the
    next day if midnight passed after the orders were dated."""
    return lambda offset: {"from": day(offset).isoformat(), "to": day(0).isoformat()}


@pytest.fixture
def address_in(clients, user):
    def _make(client_id: int, state: str) -> int:
        body = {"state": state, "city": "X", "street": "Rua", "number": "1", "cep": "01310100"}
        response = clients.app.test_client().post(
            f"/clients/{client_id}/addresses", json=body, headers=user
        )
        assert response.status_code == 201, response.json
        return response.json["id"]

    return _make


@pytest.fixture
def place(client, user, admin, day):
    """An order placed, moved along `steps` by the admin, and dated `offset` days from today."""

    def _place(buyer: int, *lines, steps=(), offset=0, address=None) -> int:
        body = order_body(buyer, *lines, shipping_address_id=address)
        response = client.post("/orders", json=body, headers=user)
        assert response.status_code == 201, response.json
        order_id = response.json["id"]
        for status in steps:
            moved = client.post(
                f"/orders/{order_id}/status", json={"status": status}, headers=admin
            )
            assert moved.status_code == 200, moved.json
        created_at(client, order_id, datetime.combine(day(offset), time(12), UTC))
        return order_id

    return _place


PAID, SHIPPED, DELIVERED = ("paid",), ("paid", "shipped"), ("paid", "shipped", "delivered")


@pytest.fixture
def week(make_client, make_product, make_category, address_in, place):
    """The last 7 days: ana (SP) bought twice, bia (RJ) once and cancelled once, caio left one
    pending, dora (no address, a client since 40 days ago) bought once.

    sold: 20.00 today, 51.00 two days ago, 22.00 yesterday, 5.50 three days ago."""
    tools, toys = make_category(), make_category()
    ana, bia, caio, dora = (make_client()["id"] for _ in range(4))
    hammer = make_product(stock=50, price="20.00", category_id=tools)["id"]
    ball = make_product(stock=50, price="5.50", category_id=toys)["id"]
    pen = make_product(stock=50, price="2.00")["id"]
    sp, rj = address_in(ana, "SP"), address_in(bia, "RJ")

    place(ana, (hammer, 1), steps=PAID, address=sp)
    place(ana, (ball, 2), (hammer, 2), steps=DELIVERED, offset=-2, address=sp)
    place(bia, (ball, 4), steps=SHIPPED, offset=-1, address=rj)
    place(bia, (pen, 1), steps=("cancelled",), offset=-1, address=rj)
    place(caio, (pen, 3))
    place(dora, (hammer, 1), steps=PAID, offset=-40)
    place(dora, (ball, 1), steps=PAID, offset=-3)
    return {
        "clients": (ana, bia, caio, dora),
        "categories": (tools, toys),
        "products": (hammer, ball, pen),
    }


def test_the_figures_count_the_periods_paid_shipped_and_delivered_orders(
    client, admin, week, day, today
):
    answer = kpis(client, admin, **{"from": day(-6).isoformat(), "to": today.isoformat()})
    assert (answer["from"], answer["to"]) == (day(-6).isoformat(), today.isoformat())
    assert answer["gmv"] == "98.50"
    assert answer["orders"] == 4
    # 98.50 / 4 = 24.625, rounded half up.
    assert answer["average_order_value"] == "24.63"
    assert answer["units"] == 1 + 2 + 2 + 4 + 1


def test_refunded_is_what_went_back_of_the_sold_orders_payments_and_net_the_gmv_less_it(
    client, admin, make_client, make_product, place, since
):
    buyer = make_client()["id"]
    hammer = make_product(stock=50, price="20.00")["id"]
    partly, by_hand, cancelled = (place(buyer, (hammer, n)) for n in (2, 1, 1))
    paid_then_refunded(client, partly, payment_id=1, total="40.00", refunded="15.00")
    assert move(client, by_hand, "paid", admin) == 200
    # Refunded in full and cancelled: not sold, its refund not counted either.
    paid_then_refunded(client, cancelled, payment_id=3, total="20.00", refunded="20.00")
    assert move(client, cancelled, "cancelled", admin) == 200
    answer = kpis(client, admin, **since(-6))
    assert (answer["gmv"], answer["refunded"], answer["net"]) == ("60.00", "15.00", "45.00")
    assert answer["orders"] == 2


def move(client, order_id: int, status: str, headers) -> int:
    moved = client.post(f"/orders/{order_id}/status", json={"status": status}, headers=headers)
    return moved.status_code


def test_the_cancellation_rate_is_cancelled_of_all_placed_pending_included(
    client, admin, week, since
):
    answer = kpis(client, admin, **since(-6))
    # Six orders placed in the period (one pending), one of them cancelled.
    assert answer["cancellation_rate"] == "0.1667"


def test_new_clients_are_those_whose_first_order_of_any_status_is_in_the_period(
    client, admin, week, since
):
    # ana, bia and caio (a pending order is an order); dora's first was 40 days ago.
    assert kpis(client, admin, **since(-6))["new_clients"] == 3
    assert kpis(client, admin, **since(-45))["new_clients"] == 4


def test_the_repeat_rate_is_the_share_of_buyers_with_two_sales_orders(client, admin, week, since):
    # Buyers ana (2 sold), bia (1 sold, 1 cancelled) and dora (1): one in three.
    assert kpis(client, admin, **since(-6))["repeat_client_rate"] == "0.3333"
    # Over 45 days dora has bought twice too.
    assert kpis(client, admin, **since(-45))["repeat_client_rate"] == "0.6667"


def test_every_day_of_the_period_is_in_the_series_zeros_included(client, admin, week, day, since):
    answer = kpis(client, admin, **since(-6))
    assert answer["by_day"] == [
        {"date": day(-6).isoformat(), "gmv": "0.00", "orders": 0},
        {"date": day(-5).isoformat(), "gmv": "0.00", "orders": 0},
        {"date": day(-4).isoformat(), "gmv": "0.00", "orders": 0},
        {"date": day(-3).isoformat(), "gmv": "5.50", "orders": 1},
        {"date": day(-2).isoformat(), "gmv": "51.00", "orders": 1},
        {"date": day(-1).isoformat(), "gmv": "22.00", "orders": 1},
        {"date": day(0).isoformat(), "gmv": "20.00", "orders": 1},
    ]


def test_products_categories_clients_and_states_are_ranked_with_their_names(
    client, admin, week, since
):
    ana, bia, _, dora = week["clients"]
    tools, toys = week["categories"]
    hammer, ball, _ = week["products"]
    answer = kpis(client, admin, **since(-6))
    assert [
        (row["product_id"], row["units"], row["revenue"]) for row in answer["top_products"]
    ] == [(ball, 7, "38.50"), (hammer, 3, "60.00")]
    assert all(row["name"].startswith("Produto ") for row in answer["top_products"])
    assert [
        (row["category_id"], row["units"], row["revenue"]) for row in answer["by_category"]
    ] == [(tools, 3, "60.00"), (toys, 7, "38.50")]
    assert all(row["name"].startswith("Categoria ") for row in answer["by_category"])
    assert [(row["client_id"], row["gmv"], row["orders"]) for row in answer["by_client"]] == [
        (ana, "71.00", 2),
        (bia, "22.00", 1),
        (dora, "5.50", 1),
    ]
    assert all(row["name"].startswith("Cliente ") for row in answer["by_client"])
    assert answer["by_state"] == [
        {"state": "SP", "gmv": "71.00", "orders": 2},
        {"state": "RJ", "gmv": "22.00", "orders": 1},
        {"state": None, "gmv": "5.50", "orders": 1},
    ]


def test_an_address_moved_to_another_state_keeps_shipped_orders_where_they_went_not_the_rest(
    app, client, user, admin, clients, make_client, make_product, address_in, place, heard, since
):
    buyer = make_client()["id"]
    product = make_product(stock=20, price="10.00")["id"]
    home = address_in(buyer, "SP")
    place(buyer, (product, 1), steps=DELIVERED, offset=-2, address=home)
    place(buyer, (product, 2), steps=PAID, offset=-1, address=home)
    place(buyer, (product, 8), steps=SHIPPED, offset=-1, address=home)
    # The client moved, and kept the address ("Casa") with its new UF.
    moved = clients.app.test_client().patch(
        f"/clients/{buyer}/addresses/{home}", json={"state": "RJ"}, headers=user
    )
    assert moved.status_code == 200, moved.json
    heard()
    with app.app_context():
        assert db.session.get(KnownAddress, home).state == "RJ"
        db.session.remove()
    # The delivered and the shipped orders went to SP; the paid one has not left, and will ship
    # to RJ.
    assert kpis(client, admin, **since(-6))["by_state"] == [
        {"state": "SP", "gmv": "90.00", "orders": 2},
        {"state": "RJ", "gmv": "20.00", "orders": 1},
    ]
    place(buyer, (product, 4), steps=PAID, address=home)
    assert kpis(client, admin, **since(-6))["by_state"] == [
        {"state": "SP", "gmv": "90.00", "orders": 2},
        {"state": "RJ", "gmv": "60.00", "orders": 2},
    ]


def test_an_order_given_another_address_or_none_counts_where_it_ships_now(
    client, user, admin, make_client, make_product, address_in, place, since
):
    buyer = make_client()["id"]
    product = make_product(stock=20, price="10.00")["id"]
    home, office = address_in(buyer, "SP"), address_in(buyer, "BA")
    to_office, to_nowhere = (
        place(buyer, (product, 1), address=home),
        place(buyer, (product, 2), address=home),
    )
    for order_id, address in ((to_office, office), (to_nowhere, None)):
        edited = client.patch(
            f"/orders/{order_id}", json={"shipping_address_id": address}, headers=user
        )
        assert edited.status_code == 200, edited.json
        paid = client.post(f"/orders/{order_id}/status", json={"status": "paid"}, headers=admin)
        assert paid.status_code == 200, paid.json
    assert kpis(client, admin, **since(-6))["by_state"] == [
        {"state": None, "gmv": "20.00", "orders": 1},
        {"state": "BA", "gmv": "10.00", "orders": 1},
    ]


def test_the_period_is_whole_utc_days_from_the_first_to_the_last_included(
    client, admin, make_client, make_product, place, day
):
    buyer = make_client()["id"]
    product = make_product(stock=20, price="1.00")["id"]
    first_instant = place(buyer, (product, 1), steps=PAID)
    last_instant = place(buyer, (product, 2), steps=PAID)
    day_after = place(buyer, (product, 4), steps=PAID)
    day_before = place(buyer, (product, 8), steps=PAID)
    start = datetime.combine(day(-2), time(), UTC)
    created_at(client, first_instant, start)
    created_at(client, last_instant, start + timedelta(days=2, microseconds=-1))
    created_at(client, day_after, start + timedelta(days=2))
    created_at(client, day_before, start - timedelta(microseconds=1))
    answer = kpis(client, admin, **{"from": day(-2).isoformat(), "to": day(-1).isoformat()})
    assert (answer["gmv"], answer["orders"], answer["units"]) == ("3.00", 2, 3)
    assert [row["date"] for row in answer["by_day"]] == [day(-2).isoformat(), day(-1).isoformat()]


def test_an_empty_period_answers_zeros_and_empty_series(client, admin, week):
    answer = kpis(client, admin, **{"from": "2020-01-01", "to": "2020-01-03"})
    assert answer == {
        "from": "2020-01-01",
        "to": "2020-01-03",
        "tz": "UTC",
        "gmv": "0.00",
        "refunded": "0.00",
        "net": "0.00",
        "orders": 0,
        "average_order_value": "0.00",
        "units": 0,
        "cancellation_rate": "0.0000",
        "new_clients": 0,
        "repeat_client_rate": "0.0000",
        "by_day": [{"date": f"2020-01-0{n}", "gmv": "0.00", "orders": 0} for n in (1, 2, 3)],
        "top_products": [],
        "by_category": [],
        "by_client": [],
        "by_state": [],
    }


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_without_a_period_it_is_the_last_30_days_to_today(client, admin):
    before = utc_today()
    answer = kpis(client, admin)
    # The server's today: the one read before the request or, if midnight passed, after it.
    assert answer["to"] in (before, utc_today())
    last = date.fromisoformat(answer["to"])
    assert answer["from"] == (last - timedelta(days=29)).isoformat()
    assert len(answer["by_day"]) == 30


def test_one_bound_alone_reaches_today_or_30_days_back(client, admin, day):
    before = utc_today()
    since = kpis(client, admin, **{"from": day(-3).isoformat()})
    assert since["from"] == day(-3).isoformat()
    assert since["to"] in (before, utc_today())
    until = kpis(client, admin, to="2024-03-31")
    assert (until["from"], until["to"]) == ("2024-03-02", "2024-03-31")


def test_a_year_and_a_leap_day_is_the_longest_period(client, admin):
    answer = kpis(client, admin, **{"from": "2024-01-01", "to": "2024-12-31"})
    assert len(answer["by_day"]) == 366


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2024-02-01", "to": "2024-01-31"}, "to"),
        ({"from": "2023-01-01", "to": "2024-01-02"}, "from"),
        ({"from": "2024-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"group_by": "day"}, "group_by"),
        ({"to": "9999-12-31"}, "to"),
        ({"to": "0001-01-05"}, "to"),
    ],
)
def test_a_bad_period_is_a_422_naming_the_field(client, admin, query, field):
    response = client.get("/orders/reports/kpis", query_string=query, headers=admin)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.json["errors"]


def test_the_kpis_are_the_admins(client, user):
    assert client.get("/orders/reports/kpis", headers=user).status_code == 403
    assert client.get("/orders/reports/kpis").status_code == 401


def test_names_its_services_cannot_give_are_null_and_the_figures_still_answer(
    database, jwt_keys, inventory, admin, week, since
):
    from services.kit.testing import build_app, free_port
    from services.orders import create_app

    unreachable = f"http://127.0.0.1:{free_port()}"
    blind = build_app(
        create_app,
        "orders",
        database,
        jwt_keys,
        SERVICE_URLS={
            "clients": unreachable,
            "products": unreachable,
            "inventory": inventory.base_url,
        },
        HTTP_RETRIES=0,
    )
    answer = kpis(blind.test_client(), admin, **since(-6))
    assert answer["gmv"] == "98.50"
    assert [row["name"] for row in answer["by_client"]] == [None, None, None]
    assert [row["name"] for row in answer["by_category"]] == [None, None]
