"""The sold lines' daily and monthly sums the KPIs read (sold_by_day, sold_by_month, kept by
triggers): after any changes to orders and their lines, whatever code makes them, they equal the
sums of the lines themselves; and the KPIs of a period with whole months and days around them
follow an order paid, cancelled or dated elsewhere."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from services.kit.testing import truncate_all
from services.orders.models import db

from .conftest import order_body

STATUSES = ("reserving", "pending", "paid", "shipped", "delivered", "cancelled", "abandoned")
# Three UTC months, and instants at their edges.
INSTANTS = [
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 2, 1, tzinfo=UTC),
    datetime(2026, 2, 14, 12, tzinfo=UTC),
    datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC),
]

_SUMS = text("""
    SELECT month, product_id, category_id, product_name, lines, units, revenue
    FROM orders.sold_by_month WHERE lines <> 0 OR units <> 0 OR revenue <> 0
    ORDER BY 1, 2, 3, 4
""")
_DAYS = text("""
    SELECT day, product_id, category_id, product_name, lines, units, revenue
    FROM orders.sold_by_day WHERE lines <> 0 OR units <> 0 OR revenue <> 0
    ORDER BY 1, 2, 3, 4
""")
_FROM_LINES = text("""
    SELECT date_trunc(:unit, o.created_at AT TIME ZONE 'UTC')::date, i.product_id,
           i.category_id, i.product_name, count(*), sum(i.quantity), sum(i.line_total)
    FROM orders.orders o JOIN orders.order_items i ON i.order_id = o.id
    WHERE o.status IN ('paid', 'shipped', 'delivered')
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
""")

line = st.tuples(
    st.integers(1, 4),  # product
    st.sampled_from([None, 1, 2]),  # category
    st.sampled_from(["Bola", "Bola azul"]),  # the name it had then
    st.integers(1, 3),  # quantity
)
change = st.one_of(
    st.tuples(
        st.just("place"),
        st.sampled_from(STATUSES),
        st.sampled_from(INSTANTS),
        st.lists(line, max_size=3, unique_by=lambda each: each[0]),
    ),
    st.tuples(st.just("status"), st.integers(0, 20), st.sampled_from(STATUSES)),
    st.tuples(st.just("date"), st.integers(0, 20), st.sampled_from(INSTANTS)),
    st.tuples(st.just("quantity"), st.integers(0, 40), st.integers(1, 5)),
    st.tuples(st.just("add line"), st.integers(0, 20), line),
    st.tuples(st.just("remove line"), st.integers(0, 40)),
    st.tuples(st.just("delete order"), st.integers(0, 20)),
)


def _apply(session, step) -> None:
    """One change, as SQL: the sums must follow whatever statement makes it."""
    orders = session.execute(text("SELECT id FROM orders.orders ORDER BY id")).scalars().all()
    items = session.execute(text("SELECT id FROM orders.order_items ORDER BY id")).scalars().all()
    kind, *args = step
    if kind == "place":
        status, at, lines = args
        order_id = session.execute(
            text(
                "INSERT INTO orders.orders (client_id, status, total, created_by, created_at,"
                " updated_at) VALUES (1, :status, 0, 1, :at, :at) RETURNING id"
            ),
            {"status": status, "at": at},
        ).scalar_one()
        if lines:
            session.execute(
                text(
                    "INSERT INTO orders.order_items (order_id, product_id, category_id,"
                    " product_name, quantity, unit_price, line_total)"
                    " VALUES (:order, :product, :category, :name, :quantity, 2.5, :quantity * 2.5)"
                ),
                [
                    {"order": order_id, "product": p, "category": c, "name": n, "quantity": q}
                    for p, c, n, q in lines
                ],
            )
    elif kind in ("status", "date", "add line", "delete order") and orders:
        order_id = orders[args[0] % len(orders)]
        if kind == "status":
            session.execute(
                text("UPDATE orders.orders SET status = :s WHERE id = :id"),
                {"s": args[1], "id": order_id},
            )
        elif kind == "date":
            session.execute(
                text("UPDATE orders.orders SET created_at = :at WHERE id = :id"),
                {"at": args[1], "id": order_id},
            )
        elif kind == "add line":
            product, category, name, quantity = args[1]
            session.execute(
                text(
                    "INSERT INTO orders.order_items (order_id, product_id, category_id,"
                    " product_name, quantity, unit_price, line_total)"
                    " VALUES (:order, :product, :category, :name, :quantity, 2.5, :quantity * 2.5)"
                    " ON CONFLICT DO NOTHING"
                ),
                {"order": order_id, "product": product, "category": category, "name": name}
                | {"quantity": quantity},
            )
        else:
            session.execute(text("DELETE FROM orders.orders WHERE id = :id"), {"id": order_id})
    elif kind in ("quantity", "remove line") and items:
        item_id = items[args[0] % len(items)]
        if kind == "quantity":
            session.execute(
                text(
                    "UPDATE orders.order_items SET quantity = :q, line_total = :q * unit_price"
                    " WHERE id = :id"
                ),
                {"q": args[1], "id": item_id},
            )
        else:
            session.execute(text("DELETE FROM orders.order_items WHERE id = :id"), {"id": item_id})


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(change, min_size=1, max_size=25))
def test_the_daily_and_monthly_sums_equal_the_sold_lines_after_any_changes(app, changes):
    truncate_all(app)
    with app.app_context():
        for step in changes:
            _apply(db.session, step)
            # Some changes are committed one by one, others many in one transaction.
            if step[0] in ("status", "delete order"):
                db.session.commit()
        db.session.commit()
        months = db.session.execute(_SUMS).all()
        days = db.session.execute(_DAYS).all()
        by_month = db.session.execute(_FROM_LINES, {"unit": "month"}).all()
        by_day = db.session.execute(_FROM_LINES, {"unit": "day"}).all()
    assert [tuple(row) for row in days] == [tuple(row) for row in by_day]
    assert [tuple(row) for row in months] == [tuple(row) for row in by_month]


def test_the_kpis_of_whole_months_follow_an_order_paid_cancelled_and_dated_elsewhere(
    client, admin, user, make_client, make_product
):
    # The first day of last month.
    first = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    # The month before last's last days, the whole last month, and today's month so far.
    period = {"from": (first - timedelta(days=3)).isoformat()}
    buyer = make_client()["id"]
    product = make_product(stock=20, price="4.00")["id"]

    def place(quantity: int) -> int:
        response = client.post("/orders", json=order_body(buyer, (product, quantity)), headers=user)
        assert response.status_code == 201, response.json
        return response.json["id"]

    def move(order_id: int, status: str) -> None:
        response = client.post(f"/orders/{order_id}/status", json={"status": status}, headers=admin)
        assert response.status_code == 200, response.json

    def date(order_id: int, day) -> None:
        with client.application.app_context():
            db.session.execute(
                text("UPDATE orders.orders SET created_at = :at WHERE id = :id"),
                {"at": datetime.combine(day, time(12), UTC), "id": order_id},
            )
            db.session.commit()

    def units() -> tuple[int, list]:
        response = client.get("/orders/reports/kpis", query_string=period, headers=admin)
        assert response.status_code == 200, response.json
        answer = response.json
        return answer["units"], [(r["product_id"], r["units"]) for r in answer["top_products"]]

    paid, cancelled, moved = place(1), place(2), place(4)
    for order_id in (paid, cancelled, moved):
        date(order_id, first + timedelta(days=9))
    assert units() == (0, [])

    for order_id in (paid, cancelled, moved):
        move(order_id, "paid")
    assert units() == (7, [(product, 7)])

    move(cancelled, "cancelled")
    assert units() == (5, [(product, 5)])

    date(moved, first - timedelta(days=40))
    assert units() == (1, [(product, 1)])
    date(moved, first - timedelta(days=2))
    assert units() == (5, [(product, 5)])
    with client.application.app_context():
        sums = db.session.execute(_SUMS).all()
    before = (first - timedelta(days=2)).replace(day=1)
    assert [(row.month, row.units, row.revenue) for row in sums] == [
        (before, 4, Decimal("16.00")),
        (first, 1, Decimal("4.00")),
    ]
