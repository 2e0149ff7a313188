"""The sales report and the KPIs, grouped and summed by PostgreSQL (GROUP BY), never in Python
loops."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from psycopg import errors as pg_errors
from sqlalchemy import Date, cast, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg
from sqlalchemy.exc import DBAPIError

from services.kit import Unprocessable
from services.kit.db import read_in_one_snapshot

from . import names
from .models import KnownProduct, Order, OrderItem, db

# What counts as sold: paid and beyond, never pending (unpaid) or cancelled.
SOLD = ("paid", "shipped", "delivered")


def midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of `day` in `zone` (a day whose midnight a clock change skips starts
    at the change), in UTC; a 422 naming the field past the calendar's ends."""
    try:
        return datetime.combine(day, time(), zone).astimezone(UTC)
    except OverflowError:
        raise Unprocessable({"from": ["Must be a day the time zone can reach."]}) from None


def in_zone(run):
    """`run()`, its query grouping by the request's time zone: a name PostgreSQL does not know
    (its zone database can be older than Python's) is a 422 naming `tz`, not a 500."""
    try:
        return run()
    except DBAPIError as exc:
        if not isinstance(exc.orig, pg_errors.InvalidParameterValue):
            raise
        db.session.rollback()
        raise Unprocessable({"tz": ["The database does not know this time zone."]}) from None


def sales(args: dict) -> dict:
    """Units, revenue and distinct orders of the sold orders (paid, shipped, delivered), one row
    per `group_by` key (a day in `tz`, a product with its latest name: the catalogue's as orders
    last heard it, else its latest line's; a client or a category; a line without a category is
    the `null` key), in key order, and their totals. What went back of the orders' payments, and
    the net, are in the totals, and in each row when the key is the order's (a day, a client).
    `date_from` and `date_to` are whole days in `tz` (UTC unless given), both included, of the
    order's creation."""
    group_by = args["group_by"]
    zone = args.get("tz") or UTC
    # The rows and the totals are two statements: one snapshot, so that they agree.
    read_in_one_snapshot(db)
    # The sold orders with their moment in the zone, named once, so that the select and the
    # GROUP BY name one expression (two bound parameters would be two to PostgreSQL).
    sold = select(
        Order.id,
        Order.client_id,
        Order.created_at,
        Order.refunded_amount,
        func.timezone(str(zone), Order.created_at).label("local"),
    ).where(Order.status.in_(SOLD))
    if args.get("date_from"):
        sold = sold.where(Order.created_at >= midnight(args["date_from"], zone))
    # `date.max` has no next day: it bounds nothing.
    if args.get("date_to") and args["date_to"] < date.max:
        sold = sold.where(Order.created_at < midnight(args["date_to"] + timedelta(days=1), zone))
    orders = sold.subquery()
    key = {
        "day": cast(orders.c.local, Date),
        "product": OrderItem.product_id,
        "client": orders.c.client_id,
        "category": OrderItem.category_id,
    }[group_by]
    columns = [
        key.label("key"),
        func.sum(OrderItem.quantity).label("units"),
        func.sum(OrderItem.line_total).label("revenue"),
        func.count(func.distinct(orders.c.id)).label("orders"),
    ]
    if group_by == "product":
        # The name of the product's latest line, for a product the read model does not name.
        latest = aggregate_order_by(
            OrderItem.product_name, orders.c.created_at.desc(), OrderItem.id.desc()
        )
        columns.append(array_agg(latest)[1].label("latest_name"))
    stmt = (
        select(*columns)
        .select_from(orders)
        .join(OrderItem, OrderItem.order_id == orders.c.id)
        .group_by(key)
    )
    if group_by == "product":
        grouped = stmt.subquery()
        stmt = (
            select(
                grouped,
                func.coalesce(KnownProduct.name, grouped.c.latest_name).label("label"),
            )
            .outerjoin(KnownProduct, KnownProduct.id == grouped.c.key)
            .order_by(grouped.c.key)
        )
    else:
        stmt = stmt.order_by(key)
    rows = in_zone(lambda: db.session.execute(stmt).mappings().all())
    by_order = group_by in ORDER_KEYS
    whole = in_zone(lambda: _orders_of(orders, key if by_order else None))
    labels = _names_of(group_by, [row["key"] for row in rows])
    revenue = sum((row["revenue"] for row in rows), Decimal("0.00"))
    refunded = sum((refunds for _, refunds in whole.values()), Decimal("0.00"))
    return {
        "group_by": group_by,
        "date_from": args.get("date_from"),
        "date_to": args.get("date_to"),
        "tz": str(zone),
        "statuses": list(SOLD),
        "items": [
            {
                "key": row["key"].isoformat() if group_by == "day" else row["key"],
                "label": row.get("label", labels.get(row["key"])),
                "units": row["units"],
                "revenue": row["revenue"],
                "orders": row["orders"],
                **(
                    _less(row["revenue"], whole[row["key"]][1])
                    if by_order
                    else {"refunded": None, "net": None}
                ),
            }
            for row in rows
        ],
        "totals": {
            "units": sum(row["units"] for row in rows),
            "revenue": revenue,
            "orders": sum(count for count, _ in whole.values()),
            **_less(revenue, refunded),
        },
    }


# The groupings whose rows are whole orders: what went back of an order's payment (not of a
# line) counts in its order's row; a product's or a category's row holds lines only.
ORDER_KEYS = ("day", "client")


def _less(revenue: Decimal, refunded: Decimal) -> dict:
    return {"refunded": refunded, "net": revenue - refunded}


def _orders_of(orders, key) -> dict:
    """The sold orders' count and what went back of their payments, per `key` of the order (a
    day, a client), else all of them under None."""
    columns = [
        func.count().label("orders"),
        func.coalesce(func.sum(orders.c.refunded_amount), 0).label("refunded"),
    ]
    if key is None:
        row = db.session.execute(select(*columns).select_from(orders)).one()
        return {None: (row.orders, row.refunded)}
    stmt = select(key.label("key"), *columns).select_from(orders).group_by(key)
    return {row.key: (row.orders, row.refunded) for row in db.session.execute(stmt)}


# --- the KPIs: a period's figures and series, each an aggregate query ---

VISIBLE = ("pending", "paid", "shipped", "delivered", "cancelled")
# At most a year and a day: enough for a year over a leap day, and a bound on the work.
MAX_KPI_DAYS = 366
DEFAULT_KPI_DAYS = 30
TOP = 10
CENT, BASIS_POINT = Decimal("0.01"), Decimal("0.0001")
KPI_WORK_MEM = "32MB"

# The period's orders read once, grouped two ways (GROUPING SETS: by UTC day, and by client and
# the UF the order shipped to, kept on the order: a client ships to few states, so the pairs are
# about as many as the clients and each order is hashed twice, not three times), then: every day
# of the calendar with its sold orders' GMV, refunds and count, the period's total (sold orders,
# GMV, refunds, cancelled and all visible orders placed), the top clients by GMV (each row with
# how many clients bought and how many bought twice or more: the repeat rate's parts), the sold
# orders by state (the pairs summed: an address edited since moves none of them), and the new
# clients (the period's clients without an earlier order of any visible status; their count in
# `orders`).
# `kind` says which row is which, `rank` their order within it.
_ORDERS = text("""
    WITH grouped AS MATERIALIZED (
        SELECT CASE GROUPING(client_id, shipping_state) WHEN 3 THEN 'day' ELSE 'pair' END
                   AS kind,
               local_day AS day, client_id, shipping_state,
               coalesce(sum(total) FILTER (WHERE status = ANY(:sold)), 0) AS gmv,
               coalesce(sum(refunded_amount) FILTER (WHERE status = ANY(:sold)), 0)
                   AS refunded,
               count(*) FILTER (WHERE status = ANY(:sold)) AS orders,
               count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
               count(*) AS placed
        FROM (
            SELECT (created_at AT TIME ZONE :tz)::date AS local_day, client_id,
                   shipping_state, total, refunded_amount, status
            FROM orders.orders
            WHERE created_at >= :start AND created_at < :end AND status = ANY(:visible)
        ) AS placed_orders
        GROUP BY GROUPING SETS (local_day, (client_id, shipping_state))
    ), days AS (
        SELECT calendar.day::date AS day, coalesce(g.gmv, 0) AS gmv,
               coalesce(g.refunded, 0) AS refunded, coalesce(g.orders, 0) AS orders,
               coalesce(g.cancelled, 0) AS cancelled, coalesce(g.placed, 0) AS placed
        FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day')
             AS calendar(day)
        LEFT JOIN grouped g ON g.kind = 'day' AND g.day = calendar.day::date
    ), clients AS MATERIALIZED (
        SELECT client_id, sum(gmv) AS gmv, sum(orders) AS orders
        FROM grouped WHERE kind = 'pair' GROUP BY client_id
    ), buyers AS (
        SELECT client_id, gmv, orders FROM clients WHERE orders > 0
    )
    SELECT kind, day, id, state, gmv, refunded, orders, cancelled, placed, buyers, repeaters
    FROM (
        SELECT 'day' AS kind, 1 AS part, row_number() OVER (ORDER BY day) AS rank, day,
               NULL::integer AS id, NULL::varchar AS state, gmv, NULL::numeric AS refunded,
               orders, NULL::bigint AS cancelled, NULL::bigint AS placed,
               NULL::bigint AS buyers, NULL::bigint AS repeaters
        FROM days
        UNION ALL
        SELECT 'total', 2, 1, NULL, NULL, NULL, coalesce(sum(gmv), 0),
               coalesce(sum(refunded), 0), coalesce(sum(orders), 0),
               coalesce(sum(cancelled), 0), coalesce(sum(placed), 0), NULL, NULL
        FROM days
        UNION ALL
        (SELECT 'client', 3, row_number() OVER (ORDER BY gmv DESC, client_id), NULL, client_id,
                NULL, gmv, NULL, orders, NULL, NULL, count(*) OVER (),
                count(*) FILTER (WHERE orders >= 2) OVER ()
         FROM buyers ORDER BY 3 LIMIT :top)
        UNION ALL
        SELECT 'state', 4, row_number() OVER (ORDER BY sum(gmv) DESC, shipping_state NULLS LAST),
               NULL, NULL, shipping_state, sum(gmv), NULL, sum(orders), NULL, NULL, NULL, NULL
        FROM grouped
        WHERE kind = 'pair' AND orders > 0
        GROUP BY shipping_state
        UNION ALL
        SELECT 'new', 5, 1, NULL, NULL, NULL, NULL, NULL, count(*), NULL, NULL, NULL, NULL
        FROM clients period
        WHERE NOT EXISTS (
            SELECT 1 FROM orders.orders earlier
            WHERE earlier.client_id = period.client_id AND earlier.created_at < :start
              AND earlier.status = ANY(:visible)
        )
    ) AS parts
    ORDER BY part, rank
""")

# The sold lines once (per product and category), then: the top products (named as the read
# model last heard the catalogue name them, else by the name on their latest sold line of the
# period, read from the lines for those few alone, as `sales` names them), every category, and
# the units of all (`kind` says which row is which, `rank` their order within it). The lines are
# read from their sums, kept by triggers per UTC day and month: the whole UTC months
# [:months_from, :months_to) inside the period from sold_by_month, its other whole UTC days
# [:utc_first, :utc_last] from sold_by_day; in another zone than UTC, the hours at either end
# that are part of a UTC day only ([:head_from, :head_to) and [:tail_from, :tail_to), empty in
# UTC) from the lines themselves.
_LINES = text("""
    WITH sold AS MATERIALIZED (
        SELECT product_id, category_id, sum(units) AS units, sum(revenue) AS revenue
        FROM (
            SELECT product_id, category_id, units, revenue
            FROM orders.sold_by_day
            WHERE (day >= CAST(:utc_first AS date) AND day < CAST(:months_from AS date)
                   OR day >= CAST(:months_to AS date) AND day <= CAST(:utc_last AS date))
              AND lines > 0
            UNION ALL
            SELECT product_id, category_id, units, revenue
            FROM orders.sold_by_month
            WHERE month >= CAST(:months_from AS date) AND month < CAST(:months_to AS date)
              AND lines > 0
            UNION ALL
            SELECT i.product_id, i.category_id, i.quantity, i.line_total
            FROM orders.orders o JOIN orders.order_items i ON i.order_id = o.id
            WHERE o.status = ANY(:sold)
              AND (o.created_at >= :head_from AND o.created_at < :head_to
                   OR o.created_at >= :tail_from AND o.created_at < :tail_to)
        ) AS lines
        GROUP BY product_id, category_id
    ), products AS (
        SELECT product_id AS id, sum(units) AS units, sum(revenue) AS revenue
        FROM sold GROUP BY product_id
    ), categories AS (
        SELECT category_id AS id, sum(units) AS units, sum(revenue) AS revenue
        FROM sold GROUP BY category_id
    )
    SELECT kind, id, name, units, revenue FROM (
        (SELECT 'product' AS kind, 1 AS part, top.id,
                coalesce(
                    known.name,
                    (SELECT i.product_name
                     FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
                     WHERE i.product_id = top.id AND o.status = ANY(:sold)
                       AND o.created_at >= :start AND o.created_at < :end
                     ORDER BY o.created_at DESC, i.id DESC
                     LIMIT 1)
                ) AS name,
                top.units, top.revenue, top.rank
         FROM (SELECT id, units, revenue,
                      row_number() OVER (ORDER BY units DESC, revenue DESC, id) AS rank
               FROM products ORDER BY rank LIMIT :top) AS top
         LEFT JOIN orders.known_products AS known ON known.id = top.id)
        UNION ALL
        SELECT 'category', 2, id, NULL, units, revenue,
               row_number() OVER (ORDER BY revenue DESC, id NULLS LAST)
        FROM categories
        UNION ALL
        SELECT 'all', 3, NULL, NULL, coalesce(sum(units), 0), coalesce(sum(revenue), 0), 1
        FROM sold
    ) AS parts
    ORDER BY part, rank
""")


def kpi_period(args: dict, today: date | None = None) -> tuple[date, date]:
    """The period's first and last days (both included): the last DEFAULT_KPI_DAYS days up to
    today (in `tz`, UTC unless given) unless given; a period that ends before it starts, or
    longer than MAX_KPI_DAYS, or at the calendar's ends (its day after, or its 30 days before, do
    not exist) is a 422."""
    today = today or datetime.now(args.get("tz") or UTC).date()
    last = args.get("date_to")
    first = args.get("date_from")
    if last is None:
        last = today if first is None or first <= today else first
    if last == date.max:
        raise Unprocessable({"to": ["Must be before 9999-12-31."]})
    if first is None:
        if last - date.min < timedelta(days=DEFAULT_KPI_DAYS - 1):
            raise Unprocessable({"to": [f"Must be {DEFAULT_KPI_DAYS} days after 0001-01-01."]})
        first = last - timedelta(days=DEFAULT_KPI_DAYS - 1)
    if first > last:
        raise Unprocessable({"to": ["Must not be before from."]})
    if (last - first).days + 1 > MAX_KPI_DAYS:
        raise Unprocessable({"from": [f"The period is at most {MAX_KPI_DAYS} days."]})
    return first, last


def utc_days(start: datetime, end: datetime) -> dict:
    """The whole UTC days inside [start, end) as [utc_first, utc_last] (none when utc_last is
    before utc_first), their whole months, and what is left at either end: [head_from, head_to)
    and [tail_from, tail_to), both empty when the period is whole UTC days."""
    utc_first = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    utc_end = end.date()
    if utc_end <= utc_first:
        # No whole UTC day: the period is one piece, read from its lines.
        return {
            "utc_first": utc_first,
            "utc_last": utc_first - timedelta(days=1),
            **whole_months(utc_first, utc_first - timedelta(days=1)),
            "head_from": start,
            "head_to": end,
            "tail_from": end,
            "tail_to": end,
        }
    return {
        "utc_first": utc_first,
        "utc_last": utc_end - timedelta(days=1),
        **whole_months(utc_first, utc_end - timedelta(days=1)),
        "head_from": start,
        "head_to": datetime.combine(utc_first, time(), UTC),
        "tail_from": datetime.combine(utc_end, time(), UTC),
        "tail_to": end,
    }


def whole_months(first: date, last: date) -> dict:
    """The UTC months wholly inside [first, last] as days [months_from, months_to); none (both the
    day after the period) when there is no such month."""
    end = last + timedelta(days=1)
    months_to = end.replace(day=1)
    if months_to <= first:
        months_from = months_to = end
    else:
        months_from = first if first.day == 1 else _next_month(first)
        if months_from >= months_to:
            months_from = months_to = end
    return {"months_from": months_from, "months_to": months_to}


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def kpis(args: dict) -> dict:
    """The period's sales figures (orders created in it that are paid, shipped or delivered; what
    went back of their payments, and the GMV net of it), its cancellation rate (cancelled of all
    placed), new and repeat clients, and its series: by day (every day), top products,
    categories, top clients and states."""
    first, last = kpi_period(args)
    zone = args.get("tz") or UTC
    start, end = midnight(first, zone), midnight(last + timedelta(days=1), zone)
    params = {
        "first": first,
        "last": last,
        "tz": str(zone),
        "start": start,
        "end": end,
        "sold": list(SOLD),
        "visible": list(VISIBLE),
        "top": TOP,
        **utc_days(start, end),
    }

    def read() -> tuple[list, list]:
        connection = db.session.connection()
        # A year's orders are grouped in memory: 4 MB (the default) sorts the grouping on disk.
        connection.execute(text(f"SET LOCAL work_mem = '{KPI_WORK_MEM}'"))
        return connection.execute(_ORDERS, params).all(), connection.execute(_LINES, params).all()

    figures, lines = in_zone(read)
    db.session.commit()

    kinds: dict[str, list] = {}
    for row in figures + lines:
        kinds.setdefault(row.kind, []).append(row)
    (total,), (new_clients,), (sold,) = kinds["total"], kinds["new"], kinds["all"]
    buyers = kinds.get("client", [])
    categories = kinds.get("category", [])
    client_names = names.clients([row.id for row in buyers])
    category_names = names.categories([row.id for row in categories if row.id is not None])
    return {
        "date_from": first,
        "date_to": last,
        "tz": str(zone),
        "gmv": total.gmv,
        "refunded": total.refunded,
        "net": total.gmv - total.refunded,
        "orders": total.orders,
        "average_order_value": _ratio(total.gmv, total.orders, CENT),
        "units": sold.units,
        "cancellation_rate": _ratio(total.cancelled, total.placed, BASIS_POINT),
        "new_clients": new_clients.orders,
        "repeat_client_rate": _ratio(
            buyers[0].repeaters if buyers else 0, buyers[0].buyers if buyers else 0, BASIS_POINT
        ),
        "by_day": [{"date": row.day, "gmv": row.gmv, "orders": row.orders} for row in kinds["day"]],
        "top_products": [
            {"product_id": row.id, "name": row.name, "units": row.units, "revenue": row.revenue}
            for row in kinds.get("product", [])
        ],
        "by_category": [
            {
                "category_id": row.id,
                "name": category_names.get(row.id),
                "units": row.units,
                "revenue": row.revenue,
            }
            for row in categories
        ],
        "by_client": [
            {
                "client_id": row.id,
                "name": client_names.get(row.id),
                "gmv": row.gmv,
                "orders": row.orders,
            }
            for row in buyers
        ],
        "by_state": [
            {"state": row.state, "gmv": row.gmv, "orders": row.orders}
            for row in kinds.get("state", [])
        ],
    }


def _ratio(part, whole, places: Decimal) -> Decimal:
    if not whole:
        return Decimal(0).quantize(places)
    return (Decimal(part) / Decimal(whole)).quantize(places, rounding=ROUND_HALF_UP)


def _names_of(group_by: str, keys: list) -> dict:
    """The clients' or categories' names the sales report shows beside their ids (names.py: read
    from their services, a page at a time; null for one that cannot be named). A day needs no
    label; a product is named by the query itself."""
    if group_by == "client":
        return names.clients(keys)
    if group_by == "category":
        return names.categories([key for key in keys if key is not None])
    return {}
