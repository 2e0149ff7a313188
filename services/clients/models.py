"""Clients, their addresses and favorite products, the products heard deleted, the Idempotency-Keys
of new clients and addresses, and the outbox through which their deletion is announced."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    column,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.kit import TimestampMixin, make_db
from services.kit.idempotency import IdempotencyKeyMixin
from services.kit.outbox import Outbox

db = make_db("clients")
outbox = Outbox(db)


def folded(text):
    """`text` lower-cased without its accents (`Conceição` -> `conceicao`), in PostgreSQL:
    `clients.unaccent_lower`, an IMMUTABLE wrapper of the unaccent extension (a migration
    creates it) so that an index may hold it."""
    return func.clients.unaccent_lower(text)


class Client(TimestampMixin, db.Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    # Lower-cased on the way in, so uniqueness is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    cpf: Mapped[str] = mapped_column(String(14), nullable=False)
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, server_default="0")
    # A Brazilian mobile, E.164 (phone.py). Not unique: a family shares one phone, and each of
    # its clients still gets their own messages. Personal data: masked for non-admins, never logged.
    phone: Mapped[str | None] = mapped_column(String(16))
    # The client agreed to order messages on WhatsApp (with a phone); else they go by e-mail.
    whatsapp_opt_in: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default="false", default=False
    )

    addresses: Mapped[list[Address]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    favorites: Mapped[list[Favorite]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        db.UniqueConstraint("email", name="uq_clients_email"),
        db.UniqueConstraint("cpf", name="uq_clients_cpf"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(r"cpf ~ '^\d{3}\.\d{3}\.\d{3}-\d{2}$'", name="cpf_formatted"),
        CheckConstraint(r"phone ~ '^\+55[1-9]{2}9[0-9]{8}$'", name="phone_e164_mobile"),
        # `name` filters are "contains", ignoring accents and case, word by word: a trigram index
        # on the folded name serves each `LIKE '%word%'` (clients.search).
        Index(
            "ix_clients_name_unaccent_trgm",
            folded(column("name")).label("folded_name"),
            postgresql_using="gin",
            postgresql_ops={"folded_name": "gin_trgm_ops"},
        ),
        Index("ix_clients_name_id", "name", "id"),
        Index("ix_clients_created_at_id", "created_at", "id"),
        Index("ix_clients_phone", "phone"),
    )


class Address(db.Model):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
    )
    state: Mapped[str] = mapped_column(String(2), nullable=False)
    city: Mapped[str] = mapped_column(String(100), nullable=False)
    street: Mapped[str] = mapped_column(String(200), nullable=False)
    number: Mapped[str] = mapped_column(String(20), nullable=False)
    complement: Mapped[str | None] = mapped_column(String(100))
    cep: Mapped[str] = mapped_column(String(9), nullable=False)

    client: Mapped[Client] = relationship(back_populates="addresses")

    __table_args__ = (
        CheckConstraint(r"cep ~ '^\d{5}-\d{3}$'", name="cep_formatted"),
        Index("ix_addresses_client_id_id", "client_id", "id"),
    )


class Favorite(db.Model):
    """A product a client likes. `product_id` is the products service's id: checked over HTTP when
    it is added, and removed here when `product.deleted` arrives."""

    __tablename__ = "favorites"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
    )
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        db.UniqueConstraint("client_id", "product_id", name="uq_favorites_client_id_product_id"),
        Index("ix_favorites_client_id_created_at_id", "client_id", "created_at", "id"),
        Index("ix_favorites_product_id", "product_id"),
    )


class DeletedProduct(db.Model):
    """A product whose `product.deleted` has been heard: kept for good (product ids are never
    reused), so a favorite added after the deletion was applied (its `HEAD /products/{id}`
    answered before it) is refused rather than kept with nothing left to remove it."""

    __tablename__ = "deleted_products"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class IdempotencyKey(IdempotencyKeyMixin, db.Model):
    """The Idempotency-Keys of POST /clients/{id}/addresses: `resource_id` is the address the key
    made."""

    __tablename__ = "idempotency_keys"


class ClientIdempotencyKey(IdempotencyKeyMixin, db.Model):
    """The Idempotency-Keys of POST /clients: `resource_id` is the client the key made."""

    __tablename__ = "client_idempotency_keys"
