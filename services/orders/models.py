"""Orders, their lines (names and prices copied at order time), their status history, the
Idempotency-Keys of their creation, the outbox through which delivered and abandoned orders
reach inventory, and the read model of the clients, addresses and products orders sell to and
sell (fed by their services' events: services/orders/known.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.kit import TimestampMixin, make_db
from services.kit.idempotency import IdempotencyKeyMixin
from services.kit.outbox import Outbox

db = make_db("orders")
outbox = Outbox(db)

PAYMENT_METHODS = ("pix", "credit_card", "debit_card", "boleto", "cash")
# What the API shows. `reserving` (its reservation is being made) and `abandoned` (a dependency
# failed mid-creation; the sweeper gives back what it may hold) are internal and never listed.
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
INTERNAL_STATUSES = ("reserving", "abandoned")
EXTERNAL_REF_MAX = 100


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


VISIBLE = text(_one_of("status", STATUSES))


class Order(TimestampMixin, db.Model):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="reserving")
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    shipping_address_id: Mapped[int | None] = mapped_column(Integer)
    # Its address's UF (the read model's) when the address was given: at placement, or by an
    # edit. A client editing the address later changes where new orders ship, not this one:
    # the KPIs count it where it shipped.
    shipping_state: Mapped[str | None] = mapped_column(String(2))
    payment_method: Mapped[str | None] = mapped_column(String(20))
    # Where it shipped: its address as clients gave it when it shipped (state, city, street,
    # number, complement, cep), so an address edited later moves no shipped order's label. Null
    # before, without an address, when clients could not say, and once its client is deleted
    # (personal data goes with the client).
    shipped_to: Mapped[dict | None] = mapped_column(JSONB)
    # The payment that paid it (`payment.succeeded`); null while unpaid, when an admin marked it
    # paid by hand, or when it was paid before orders recorded it.
    payment_id: Mapped[int | None] = mapped_column(Integer)
    # What went back of that payment: its PaymentRefund row's figure, followed as it changes
    # (down too, when a refund failed). Another payment's refunds are not the order's.
    refunded_amount: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), nullable=False, server_default=text("0")
    )
    # The user who placed it: the one (besides admins) who may cancel it while pending.
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    # The placing system's own id for it (a marketplace's order id), given when placed and never
    # changed: one order per reference, however late a resync sends it again. An order given up
    # halfway (`abandoned`) lets go of it, so placing it again is not refused for an order that
    # never was.
    external_ref: Mapped[str | None] = mapped_column(String(EXTERNAL_REF_MAX))

    items: Mapped[list[OrderItem]] = relationship(
        order_by="OrderItem.id",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    history: Mapped[list[OrderEvent]] = relationship(
        order_by="OrderEvent.id",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES + INTERNAL_STATUSES), name="status_known"),
        CheckConstraint(
            f"payment_method IS NULL OR {_one_of('payment_method', PAYMENT_METHODS)}",
            name="payment_method_known",
        ),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("refunded_amount >= 0", name="refunded_not_negative"),
        # The database decides which of two orders placed at once with one reference is placed
        # (orders.place_order inserts ON CONFLICT DO NOTHING on it); it serves the filter too.
        Index(
            "uq_orders_external_ref",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        # Every filter and sort of the list, each with id as the tiebreaker.
        Index("ix_orders_created_at_id", "created_at", "id"),
        Index("ix_orders_total_id", "total", "id"),
        Index("ix_orders_client_id_created_at", "client_id", "created_at"),
        Index("ix_orders_status_created_at", "status", "created_at"),
        # The KPIs' period scans, from the index alone (services/orders/reports.py).
        Index(
            "ix_orders_created_at_kpis",
            "created_at",
            postgresql_include=[
                "status",
                "total",
                "client_id",
                "shipping_state",
                "refunded_amount",
            ],
        ),
    )


class OrderItem(db.Model):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
    )
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    category_id: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    line_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        db.UniqueConstraint("order_id", "product_id", name="uq_order_items_order_id_product_id"),
        # `product_id` (products' deletion guard) and `category_id` (any line) filters.
        Index("ix_order_items_product_id_order_id", "product_id", "order_id"),
        Index("ix_order_items_category_id_order_id", "category_id", "order_id"),
        # The KPIs' lines of a period's orders, from the index alone.
        Index(
            "ix_order_items_order_id_kpis",
            "order_id",
            postgresql_include=["product_id", "category_id", "quantity", "line_total"],
        ),
    )


class OrderEvent(db.Model):
    """One line of an order's history: the status it reached, when and by whom: a user (`by`)
    or a service acting on its own events (`by_service`, e.g. "payments"), exactly one."""

    __tablename__ = "order_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    by: Mapped[int | None] = mapped_column(Integer)
    by_service: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (CheckConstraint("(by IS NULL) <> (by_service IS NULL)", name="by_one_of"),)


class PaymentRefund(db.Model):
    """What payments last said went back in all of one payment (`payment.refunded`), whichever
    order it paid and whenever it is heard: a refund delivered before the success that pays the
    order is here when that success comes. `version` is the payment's `updated_at` as the event
    carried it: the newest is kept, so a failed refund lowers the figure and an older event
    delivered late changes nothing."""

    __tablename__ = "payment_refunds"

    payment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    refunded_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    version: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (CheckConstraint("refunded_amount >= 0", name="refunded_not_negative"),)


class SoldByDay(db.Model):
    """The lines of sold orders (paid, shipped, delivered) summed per UTC day of their order's
    creation, per product, category and name: the KPIs read the days around a period's whole
    months here. Kept by triggers (migrations e5b8c1d3f7a2, f6c9d2e4a8b3) in the transaction of
    every change to an order's status or date or to its lines, whatever code makes it; a row
    whose `lines` fell to 0 counts nothing."""

    __tablename__ = "sold_by_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category_id: Mapped[int | None] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    lines: Mapped[int] = mapped_column(Integer, nullable=False)
    units: Mapped[int] = mapped_column(BigInteger, nullable=False)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)

    __table_args__ = (
        db.UniqueConstraint(
            "day", "product_id", "category_id", "product_name", postgresql_nulls_not_distinct=True
        ),
    )


class SoldByMonth(db.Model):
    """SoldByDay summed per UTC month (a trigger on it adds each day's change to its month): the
    KPIs read a period's whole months here."""

    __tablename__ = "sold_by_month"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, nullable=False)
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category_id: Mapped[int | None] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    lines: Mapped[int] = mapped_column(Integer, nullable=False)
    units: Mapped[int] = mapped_column(BigInteger, nullable=False)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)

    __table_args__ = (
        db.UniqueConstraint(
            "month", "product_id", "category_id", "product_name", postgresql_nulls_not_distinct=True
        ),
    )


class IdempotencyKey(IdempotencyKeyMixin, db.Model):
    """The Idempotency-Keys of POST /orders: `resource_id` is the order the key made."""

    __tablename__ = "idempotency_keys"


# --- the read model (services/orders/known.py) ---
# A row per id orders has heard of or read. `deleted` rows are tombstones: ids are never reused,
# so a deletion is final and no late event brings the row back. `version` is the producer's
# version of the row (the database clock it read under the row's lock); NULL for a row read over
# HTTP without one, which any event then replaces.


class KnownClient(db.Model):
    """A client of the clients service: that it exists is all orders needs."""

    __tablename__ = "known_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class KnownAddress(db.Model):
    """A client's address: whose it is, and its state (UF) for reports by region."""

    __tablename__ = "known_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    client_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str | None] = mapped_column(String(2))
    version: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class KnownProduct(db.Model):
    """A product of the catalogue as an order copies it: name, price, category, and whether it
    may be sold."""

    __tablename__ = "known_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(200))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    category_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    version: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class ReservationEdit(db.Model):
    """An edit of an order's lines under way: written in a transaction of its own before
    inventory is asked to replace the reservation's lines, and deleted in the edit's own commit.
    One left behind is an edit whose process died (or never heard its commit's outcome) between
    the two: the sweeper sets the reservation back to the lines the order has stored. No foreign
    key: it is written while the edit holds the order's row FOR UPDATE."""

    __tablename__ = "reservation_edits"

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    since: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
