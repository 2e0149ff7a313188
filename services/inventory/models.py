"""Stock per product (and the products whose deletion was heard), its movement ledger,
reservations for orders, clients' holdings (and the clients whose deletion was heard), the
Idempotency-Keys of movements, and the outbox through which every stock change is announced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.kit import make_db
from services.kit.idempotency import IdempotencyKeyMixin
from services.kit.outbox import Outbox

db = make_db("inventory")
outbox = Outbox(db)

# What an admin may record by hand; `sale` is written only by committing a reservation.
MANUAL_REASONS = ("receipt", "adjustment", "return", "damage")
REASONS = (*MANUAL_REASONS, "sale")
RESERVATION_STATES = ("reserved", "released", "committed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Stock(db.Model):
    """One row per product, created by `product.created`. `version` grows with every change and
    travels in `stock.changed`, so products applies only the newest figure."""

    __tablename__ = "stock"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    on_hand: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    reserved: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    available: Mapped[int] = mapped_column(
        Integer, Computed("on_hand - reserved", persisted=True), nullable=False
    )
    reorder_level: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        # The invariant, kept by the database whatever the code does: 0 <= reserved <= on_hand.
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("reorder_level >= 0", name="reorder_level_not_negative"),
        # `low=true` (available <= reorder_level): few rows, a partial index in product_id order.
        Index(
            "ix_stock_low_product_id",
            "product_id",
            postgresql_where=text("available <= reorder_level"),
        ),
        Index("ix_stock_available_product_id", "available", "product_id"),
        Index("ix_stock_updated_at_product_id", "updated_at", "product_id"),
    )


class Movement(db.Model):
    """The append-only ledger: each change of on_hand, who made it and what on_hand became."""

    __tablename__ = "movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    on_hand_after: Mapped[int] = mapped_column(Integer, nullable=False)
    # The caller's user id; none for what an event did (a product's initial stock).
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        CheckConstraint(_one_of("reason", REASONS), name="reason_known"),
        Index("ix_movements_product_id_created_at_id", "product_id", "created_at", "id"),
    )


class Reservation(db.Model):
    """An order's hold on stock: reserved, then released (cancelled) or committed (shipped)."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="reserved")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    items: Mapped[list[ReservationItem]] = relationship(
        order_by="ReservationItem.product_id",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        db.UniqueConstraint("order_id", name="uq_reservations_order_id"),
        CheckConstraint(_one_of("status", RESERVATION_STATES), name="status_known"),
    )


class ReservationItem(db.Model):
    __tablename__ = "reservation_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), nullable=False
    )
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        db.UniqueConstraint(
            "reservation_id", "product_id", name="uq_reservation_items_reservation_id_product_id"
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class Holding(db.Model):
    """A product a client has acquired. Both ids belong to other services: checked over HTTP when
    written, removed here when `client.deleted` or `product.deleted` arrives."""

    __tablename__ = "holdings"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # Copied when written: the name the client acquired it under.
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    acquired_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_holdings_client_id_acquired_at_id", "client_id", "acquired_at", "id"),
        Index("ix_holdings_product_id", "product_id"),
    )


class DeletedClient(db.Model):
    """A client whose `client.deleted` has been heard: kept for good (client ids are never reused),
    so a holding that arrives after the deletion (a delayed `order.delivered`, a POST whose
    clients check answered before it) is not written for a client that no longer exists."""

    __tablename__ = "deleted_clients"

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class DeletedProduct(db.Model):
    """A product whose `product.deleted` has been heard: kept for good (product ids are never
    reused), so what arrives after the deletion (a `product.created` whose delivery was backing
    off, a holding) makes no stock row or holding for a product that no longer exists."""

    __tablename__ = "deleted_products"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class IdempotencyKey(IdempotencyKeyMixin, db.Model):
    """The Idempotency-Keys of POST /inventory/stock/{product_id}/movements and
    /inventory/clients/{client_id}/holdings: `resource_id` is the movement or holding the key
    recorded."""

    __tablename__ = "idempotency_keys"
