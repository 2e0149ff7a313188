"""The KPIs and the sales report in a shop's time zone (`tz`): their days are that zone's days,
so an order placed at 23:30 in São Paulo (02:30 UTC the next day) is sold on the day it was
placed there; their sold lines, read from the UTC sums and the lines at either end, agree."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services.kit import Unprocessable
from services.orders import reports
from services.orders.models import db

from .conftest import order_body

SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # -03:00 all of 2025
TOKYO = ZoneInfo("Asia/Tokyo")  # +09:00


def local(zone, *moment) -> datetime:
    return datetime(*moment, tzinfo=zone)


@pytest.fixture
def paid_at(client, user, admin):
    """An order of `units` of `product`, paid, and placed at `moment`."""

    def _paid_at(buyer: int, product: int, units: int, moment: datetime) -> None:
        response = client.post("/orders", json=order_body(buyer, (product, units)), headers=user)
        assert response.status_code == 201, response.json
        order_id = response.json["id"]
        paid = client.post(f"/orders/{order_id}/status", json={"status": "paid"}, headers=admin)
        assert paid.status_code == 200, paid.json
        with client.application.app_context():
            db.session.execute(
                text("UPDATE orders.orders SET created_at = :at WHERE id = :id"),
                {"at": moment, "id": order_id},
            )
            db.session.commit()

    return _paid_at


@pytest.fixture
def quarter(make_client, make_product, paid_at):
    """Orders of 1, 2, 4, 8 and 16 units at 1.00 around the first quarter of 2025 in São Paulo:
    at the quarter's first hour, just before it, in February, in its last half hour, and just
    after it. Each moment but February's is on another UTC day than São Paulo's."""
    buyer = make_client()["id"]
    product = make_product(stock=100, price="1.00")["id"]
    moments = {
        1: local(SAO_PAULO, 2025, 1, 1, 1, 0),  # 04:00 UTC, January 1st
        2: local(SAO_PAULO, 2024, 12, 31, 23, 30),  # 02:30 UTC, January 1st
        4: local(SAO_PAULO, 2025, 2, 14, 12, 0),
        8: local(SAO_PAULO, 2025, 3, 31, 23, 30),  # 02:30 UTC, April 1st
        16: local(SAO_PAULO, 2025, 4, 1, 0, 30),  # 03:30 UTC, April 1st
    }
    for units, moment in moments.items():
        paid_at(buyer, product, units, moment)
    return product


def kpis(client, headers, **query):
    response = client.get("/orders/reports/kpis", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def sold(answer) -> tuple:
    by_day = {row["date"]: row["gmv"] for row in answer["by_day"] if row["orders"]}
    top = [(row["units"], row["revenue"]) for row in answer["top_products"]]
    return answer["gmv"], answer["orders"], answer["units"], top, by_day


def test_the_kpis_count_the_days_of_the_zone_given(client, admin, quarter):
    answer = kpis(
        client, admin, **{"from": "2025-01-01", "to": "2025-03-31"}, tz="America/Sao_Paulo"
    )
    assert answer["tz"] == "America/Sao_Paulo"
    assert sold(answer) == (
        "13.00",
        3,
        13,
        [(13, "13.00")],
        {"2025-01-01": "1.00", "2025-02-14": "4.00", "2025-03-31": "8.00"},
    )


def test_without_a_zone_the_same_period_is_utc_days(client, admin, quarter):
    answer = kpis(client, admin, **{"from": "2025-01-01", "to": "2025-03-31"})
    assert answer["tz"] == "UTC"
    assert sold(answer) == (
        "7.00",
        3,
        7,
        [(7, "7.00")],
        {"2025-01-01": "3.00", "2025-02-14": "4.00"},
    )


def test_a_single_day_shorter_than_any_utc_day_it_touches_counts_its_own_hours(
    client, admin, quarter
):
    last = kpis(client, admin, **{"from": "2025-03-31", "to": "2025-03-31"}, tz="America/Sao_Paulo")
    assert sold(last) == ("8.00", 1, 8, [(8, "8.00")], {"2025-03-31": "8.00"})
    # In Tokyo, São Paulo's 1st of January 01:00 and its 31st of December 23:30 are the same day.
    tokyo = kpis(client, admin, **{"from": "2025-01-01", "to": "2025-01-01"}, tz="Asia/Tokyo")
    assert sold(tokyo) == ("3.00", 2, 3, [(3, "3.00")], {"2025-01-01": "3.00"})


def test_the_sales_report_groups_and_bounds_by_the_zones_days(client, admin, quarter):
    query = {"group_by": "day", "from": "2025-01-01", "to": "2025-03-31", "tz": "America/Sao_Paulo"}
    response = client.get("/orders/reports/sales", query_string=query, headers=admin)
    assert response.status_code == 200, response.json
    assert response.json["tz"] == "America/Sao_Paulo"
    assert [(row["key"], row["units"]) for row in response.json["items"]] == [
        ("2025-01-01", 1),
        ("2025-02-14", 4),
        ("2025-03-31", 8),
    ]
    by_product = {**query, "group_by": "product"}
    response = client.get("/orders/reports/sales", query_string=by_product, headers=admin)
    assert [(row["key"], row["units"]) for row in response.json["items"]] == [(quarter, 13)]


def test_without_a_period_the_kpis_end_today_in_the_zone(client, admin):
    # Kiritimati (+14) and Pago Pago (-11) are 25 hours apart: never on the same day.
    ends = {}
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        before = datetime.now(ZoneInfo(name)).date().isoformat()
        ends[name] = kpis(client, admin, tz=name)["to"]
        assert ends[name] in (before, datetime.now(ZoneInfo(name)).date().isoformat())
    assert ends["Pacific/Kiritimati"] > ends["Pacific/Pago_Pago"]


@pytest.mark.parametrize(
    "tz", ["Mars/Olympus_Mons", "america/sao_paulo", "Factory", "localtime", "../../etc/passwd", ""]
)
def test_a_name_not_of_a_place_in_the_zone_database_is_a_422_naming_tz(client, admin, tz):
    for path, query in (
        ("/orders/reports/kpis", {"tz": tz}),
        ("/orders/reports/sales", {"tz": tz, "group_by": "day"}),
    ):
        response = client.get(path, query_string=query, headers=admin)
        assert response.status_code == 422, (path, tz, response.json)
        assert response.content_type == "application/problem+json"
        assert list(response.json["errors"]) == ["tz"]


def test_a_first_day_the_zone_cannot_reach_is_a_422_naming_from(client, admin):
    # The first instant of 0001-01-01 in Tokyo is before the first instant UTC can hold.
    query = {"from": "0001-01-01", "to": "0001-01-02", "tz": "Asia/Tokyo"}
    response = client.get("/orders/reports/kpis", query_string=query, headers=admin)
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["from"]


def test_a_zone_the_database_does_not_know_is_a_422_naming_tz_not_a_500(app):
    # Python's zone database can be newer than PostgreSQL's.
    with app.app_context():
        with pytest.raises(Unprocessable) as refused:
            reports.in_zone(
                lambda: db.session.execute(text("SELECT now() AT TIME ZONE 'Mars/Olympus_Mons'"))
            )
        assert list(refused.value.errors) == ["tz"]
        assert db.session.execute(text("SELECT 1")).scalar_one() == 1
