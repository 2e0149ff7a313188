"""The sales KPIs over a year of 100k orders (issue 18: p95 under 300 ms through the gateway).

The orders are written straight into orders' schema with a few INSERT … SELECT statements (seconds,
not the hours the API would take): 100k orders spread over the last 365 days, one to three lines
each over 500 products in 12 categories, 5,000 clients with addresses in 10 states, every status
in a shop's proportions. They belong to a user id no one has (BENCH_USER), which is how they are
found again: deleted (with their lines, history and the bench's addresses) when the run ends.
Their clients and categories do not exist, so the report asks clients and products for names and
gets none: the same calls, answered quickly.

"kpis 30 days" and "kpis 365 days": GET /orders/reports/kpis for the last 30 and 365 days as the
admin, two connections (one request at a time per core: what a request costs)."""

from __future__ import annotations

import atexit
from datetime import UTC, datetime, timedelta

from .registry import Context, Request, case

ORDERS = 100_000
CLIENTS = 5_000
PRODUCTS = 500
P95_GOAL_MS = 300.0
CONNECTIONS = 2
# A user id no account has: the bench's orders are created by it.
BENCH_USER = 2_000_000_000
# Ids of the bench's addresses in orders' read model, far above any real one.
FIRST_ADDRESS = 2_000_000_000
STATES = ("SP", "RJ", "MG", "RS", "PR", "BA", "SC", "PE", "CE", "GO")

_LOAD = [
    # One address per client, its state among STATES.
    """INSERT INTO orders.known_addresses (id, client_id, state)
       SELECT %(first_address)s + n, %(bench)s + n, (%(states)s::text[])[1 + n %% 10]
       FROM generate_series(0, %(clients)s - 1) AS n
       ON CONFLICT (id) DO NOTHING""",
    # The orders: every status (about 70% sold, 12% cancelled, the rest pending), over the year,
    # each shipped to its client's address (and that address's UF).
    """INSERT INTO orders.orders
           (client_id, status, total, shipping_address_id, shipping_state, payment_method,
            created_by, created_at, updated_at)
       SELECT %(bench)s + c, s.status, 0, %(first_address)s + c,
              (%(states)s::text[])[1 + c %% 10], 'pix', %(bench)s, t, t
       FROM generate_series(1, %(orders)s) AS n,
            LATERAL (SELECT (n * 7919) %% %(clients)s AS c,
                            %(now)s::timestamptz - (n * 31536.0 / %(orders)s) * interval '1000 s'
                              AS t) AS p,
            LATERAL (SELECT (ARRAY['delivered', 'delivered', 'delivered', 'delivered', 'shipped',
                                   'paid', 'paid', 'cancelled', 'pending', 'delivered',
                                   'cancelled', 'shipped', 'pending', 'delivered', 'paid',
                                   'delivered', 'shipped'])[1 + n %% 17] AS status) AS s""",
    # One to three lines each, over PRODUCTS products in 12 categories.
    """INSERT INTO orders.order_items
           (order_id, product_id, product_name, category_id, quantity, unit_price, line_total)
       SELECT o.id, l.product, 'Produto de bancada ' || l.product, 1 + l.product %% 12,
              1 + (o.id + k) %% 3, 5 + l.product %% 95,
              (1 + (o.id + k) %% 3) * (5 + l.product %% 95)
       FROM orders.orders o,
            generate_series(0, o.id %% 3) AS k,
            LATERAL (SELECT 1 + (o.id * 31 + k * 97) %% %(products)s AS product) AS l
       WHERE o.created_by = %(bench)s""",
    # The planner's figures for the rows just written: without them it joins them badly.
    "ANALYZE orders.orders, orders.order_items",
    # Each order's total from its lines (the unique (order_id, product_id) index finds them).
    """UPDATE orders.orders o
       SET total = (SELECT sum(line_total) FROM orders.order_items i WHERE i.order_id = o.id)
       WHERE o.created_by = %(bench)s""",
]

_CLEAN = [
    "DELETE FROM orders.orders WHERE created_by = %(bench)s",
    "DELETE FROM orders.known_addresses WHERE id >= %(first_address)s",
]


def _connect(ctx: Context):
    import psycopg

    url = ctx.cfg.database_url("orders", ctx.cfg.db_passwords()["orders"])
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def _params() -> dict:
    return {
        "bench": BENCH_USER,
        "first_address": FIRST_ADDRESS,
        "states": list(STATES),
        "clients": CLIENTS,
        "orders": ORDERS,
        "products": PRODUCTS,
        "now": datetime.now(UTC),
    }


def load_orders(ctx: Context) -> int:
    """The year of orders, once per run (a run that was killed leaves them: they are found and
    kept); their clean-up at exit. Returns how many were written."""
    with _connect(ctx) as conn:
        present = conn.execute(
            "SELECT count(*) FROM orders.orders WHERE created_by = %s", (BENCH_USER,)
        ).fetchone()[0]
        if present < ORDERS:
            for statement in _CLEAN + _LOAD:
                conn.execute(statement, _params())
        conn.commit()
        # VACUUM sets the visibility map (index-only scans), ANALYZE the planner's figures; the
        # sold lines' daily and monthly sums (kept by triggers) are vacuumed of the row versions
        # the load's updates left, as autovacuum would.
        conn.autocommit = True
        conn.execute(
            "VACUUM ANALYZE orders.orders, orders.order_items, orders.known_addresses,"
            " orders.sold_by_day, orders.sold_by_month"
        )
    if not _loaded:
        atexit.register(clean_up, ctx)
        _loaded.append(True)
    return 0 if present >= ORDERS else ORDERS


_loaded: list[bool] = []


def clean_up(ctx: Context) -> None:
    try:
        with _connect(ctx) as conn:
            for statement in _CLEAN:
                conn.execute(statement, _params())
    except Exception as exc:  # the run's figures are kept whatever happens here
        print(f"    could not delete the KPI bench's orders: {type(exc).__name__}: {exc}")


def _kpis(ctx: Context, days: int) -> Request:
    if added := load_orders(ctx):
        print(f"    loaded {added} orders over a year")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    return Request(
        f"{ctx.cfg.gateway_url}/orders/reports/kpis?from={first}&to={today}",
        ctx.bearer(),
        connections=CONNECTIONS,
        p95_under_ms=P95_GOAL_MS,
    )


@case("kpis 30 days (100k orders a year)")
def kpis_month(ctx: Context) -> Request:
    """GET /orders/reports/kpis for the last 30 days through the gateway (admin)."""
    return _kpis(ctx, 30)


@case("kpis 365 days (100k orders a year)")
def kpis_year(ctx: Context) -> Request:
    """GET /orders/reports/kpis for the last 365 days through the gateway (admin)."""
    return _kpis(ctx, 365)
