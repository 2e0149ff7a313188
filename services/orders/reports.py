"""The sales report, grouped and summed by PostgreSQL (GROUP BY), never in Python loops."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, cast, func, select

from .models import Order, OrderItem, db

# What counts as sold: paid and beyond, never pending (unpaid) or cancelled.
SOLD = ("paid", "shipped", "delivered")


def sales(args: dict) -> dict:
    """Units, revenue and distinct orders of the sold orders (paid, shipped, delivered), one row
    per `group_by` key (a UTC day, a product with its latest name, a client or a category; a
    line without a category is the `null` key), in key order. `date_from` and `date_to` are
    whole UTC days, both included, of the order's creation."""
    group_by = args["group_by"]
    day = cast(func.timezone("UTC", Order.created_at), Date)
    key = {
        "day": day,
        "product": OrderItem.product_id,
        "client": Order.client_id,
        "category": OrderItem.category_id,
    }[group_by]
    label = func.max(OrderItem.product_name) if group_by == "product" else None
    columns = [
        key.label("key"),
        func.sum(OrderItem.quantity).label("units"),
        func.sum(OrderItem.line_total).label("revenue"),
        func.count(func.distinct(Order.id)).label("orders"),
    ]
    if label is not None:
        columns.append(label.label("label"))
    stmt = (
        select(*columns)
        .select_from(Order)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.status.in_(SOLD))
        .group_by(key)
        .order_by(key)
    )
    if args.get("date_from"):
        stmt = stmt.where(Order.created_at >= datetime.combine(args["date_from"], time(), UTC))
    # `date.max` has no next day: it bounds nothing.
    if args.get("date_to") and args["date_to"] < date.max:
        end = datetime.combine(args["date_to"] + timedelta(days=1), time(), UTC)
        stmt = stmt.where(Order.created_at < end)
    rows = db.session.execute(stmt).mappings().all()
    return {
        "group_by": group_by,
        "date_from": args.get("date_from"),
        "date_to": args.get("date_to"),
        "statuses": list(SOLD),
        "items": [
            {
                "key": row["key"].isoformat() if group_by == "day" else row["key"],
                "label": row.get("label"),
                "units": row["units"],
                "revenue": row["revenue"],
                "orders": row["orders"],
            }
            for row in rows
        ],
    }
