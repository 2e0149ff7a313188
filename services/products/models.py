"""Categories, products and their images, the Idempotency-Keys of new categories, and the outbox
through which products announce changes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from services.kit import TimestampMixin, make_db
from services.kit.idempotency import IdempotencyKeyMixin
from services.kit.outbox import Outbox

db = make_db("products")
outbox = Outbox(db)

# What `q` searches: Portuguese stems of the name and the description ("teclado" finds "Teclados").
SEARCH_DOCUMENT = "to_tsvector('portuguese', name || ' ' || coalesce(description, ''))"


class Category(TimestampMixin, db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        db.UniqueConstraint("name", name="uq_categories_name"),
        Index("ix_categories_created_at_id", "created_at", "id"),
    )


class Product(TimestampMixin, db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    barcode: Mapped[str] = mapped_column(String(13), nullable=False)
    # RESTRICT: a category that still has products cannot be deleted.
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT")
    )
    expires_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    # A read model of inventory's stock, set by `stock.changed` events; `stock_version` is the
    # newest event applied, so an older one arriving late cannot overwrite a newer figure.
    available_quantity: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default=text("0")
    )
    stock_version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    search: Mapped[str] = deferred(
        mapped_column(TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True), nullable=False)
    )

    images: Mapped[list[ProductImage]] = relationship(
        order_by="ProductImage.id",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        db.UniqueConstraint("name", name="uq_products_name"),
        db.UniqueConstraint("barcode", name="uq_products_barcode"),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint(r"barcode ~ '^\d{13}$'", name="barcode_digits"),
        CheckConstraint("available_quantity >= 0", name="available_not_negative"),
        Index("ix_products_search", "search", postgresql_using="gin"),
        # Every filter and sort of GET /products has an index: each sort alone (name on
        # uq_products_name); browsing a category in each order (products of a category cluster
        # in name order, so the name index alone would scan far); min/max_price; available=true
        # (few rows with stock); active=false (few retired rows: active=true is nearly every row,
        # so the sort's index with a filter serves it). q has the GIN index.
        Index("ix_products_category_id_name", "category_id", "name"),
        Index("ix_products_category_id_price_id", "category_id", "price", "id"),
        Index("ix_products_category_id_created_at_id", "category_id", "created_at", "id"),
        Index("ix_products_price_id", "price", "id"),
        Index("ix_products_created_at_id", "created_at", "id"),
        Index(
            "ix_products_available_name",
            "name",
            postgresql_where=text("available_quantity > 0"),
        ),
        Index("ix_products_retired_name", "name", postgresql_where=text("NOT active")),
    )


class ProductImage(db.Model):
    """An uploaded picture, re-encoded, and its thumbnail; paths are relative to MEDIA_DIR.
    `sha256` is the hash of the bytes as they were uploaded (before re-encoding): the same bytes
    sent again for the product (a retry whose answer was lost) are this picture, not another.
    Pictures stored before it was kept have none."""

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), nullable=False
    )
    path: Mapped[str] = mapped_column(String(200), nullable=False)
    thumbnail_path: Mapped[str] = mapped_column(String(200), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # Sent by the collector (its door): the only pictures it may remove, never one a person added.
    collected: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        Index("ix_product_images_product_id_id", "product_id", "id"),
        db.UniqueConstraint("product_id", "sha256", name="uq_product_images_product_id_sha256"),
    )


class ProductSale(db.Model):
    """A product's units on a paid order (orders' `order.paid`), for `sort=popularity`: a line
    per order and product, `cancelled` once its order is (`order.cancelled`), whichever of the
    two events arrives first."""

    __tablename__ = "product_sales"

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    sold_on: Mapped[date] = mapped_column(Date, nullable=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # The recent days' units per product, from the index alone.
        Index(
            "ix_product_sales_sold_on_product_id",
            "sold_on",
            "product_id",
            postgresql_include=["quantity"],
            postgresql_where=text("NOT cancelled"),
        ),
    )


class IdempotencyKey(IdempotencyKeyMixin, db.Model):
    """The Idempotency-Keys of POST /categories: `resource_id` is the category the key made."""

    __tablename__ = "idempotency_keys"
