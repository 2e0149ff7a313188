"""Units sold per product, heard from orders' events, and the `popularity` sort they give the
catalogue: units on paid (and shipped, delivered) orders in the last POPULAR_DAYS days, UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Date, cast, func, select
from sqlalchemy.dialects.postgresql import insert

from .models import Product, ProductSale, db

POPULAR_DAYS = 30


def on_order_paid(data: dict) -> None:
    """`order.paid` {order_id, items[{product_id, quantity}], paid_at}: its units are sold on
    the day it was paid (a redelivery, or a cancellation heard first, changes nothing)."""
    rows = _lines(data, datetime.fromisoformat(str(data["paid_at"])).date())
    if rows:
        db.session.execute(insert(ProductSale).values(rows).on_conflict_do_nothing())


def on_order_cancelled(data: dict) -> None:
    """`order.cancelled` {order_id, previous_status, items}: a paid order's units stop counting.
    An order cancelled while pending was never sold."""
    if data["previous_status"] != "paid":
        return
    rows = [{**row, "cancelled": True} for row in _lines(data, datetime.now(UTC).date())]
    if rows:
        stmt = insert(ProductSale).values(rows)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[ProductSale.order_id, ProductSale.product_id],
                set_={"cancelled": True},
            )
        )


def _lines(data: dict, sold_on) -> list[dict]:
    order_id = int(data["order_id"])
    return [
        {
            "order_id": order_id,
            "product_id": int(item["product_id"]),
            "quantity": int(item["quantity"]),
            "sold_on": sold_on,
        }
        for item in data["items"]
    ]


_today = cast(func.timezone("UTC", func.now()), Date)
# Units per product over the recent days (an index-only scan of the partial index).
recent = (
    select(ProductSale.product_id, func.sum(ProductSale.quantity).label("units"))
    .where(~ProductSale.cancelled, ProductSale.sold_on > _today - POPULAR_DAYS)
    .group_by(ProductSale.product_id)
    .subquery("recent_sales")
)
popularity = func.coalesce(recent.c.units, 0)


def with_popularity(stmt):
    """The product query joined to its recent units, so `popularity` can sort it."""
    return stmt.outerjoin(recent, recent.c.product_id == Product.id)
