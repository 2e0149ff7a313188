"""Database plumbing: one SQLAlchemy extension per service, bound to that service's schema."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.model import Model as FlaskModel
from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.orm import Mapped, mapped_column

# Constraint names carry the column, so an IntegrityError can name the field at fault.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(FlaskModel):
    """The base of every service's models (`db.Model`): flask-sqlalchemy's, and one way to apply
    a change (microblog-api's `Updateable`)."""

    def update(self, data: Mapping[str, Any]) -> None:
        """Set each attribute `data` names (a PATCH body's fields, or all of a PUT's)."""
        for key, value in data.items():
            setattr(self, key, value)


def make_db(schema: str) -> SQLAlchemy:
    """The extension object a service's models.py creates at import time."""
    return SQLAlchemy(
        metadata=MetaData(schema=schema, naming_convention=NAMING_CONVENTION), model_class=Model
    )


def constraint_field(constraint: str) -> str:
    """`uq_clients_email` -> `email`; unique indexes on expressions are named the same way."""
    prefix, _, rest = constraint.partition("_")
    if prefix not in {"uq", "ix", "fk", "ck"} or not rest:
        return constraint or "value"
    for table in sorted(_known_tables(), key=len, reverse=True):
        if rest.startswith(table + "_"):
            return rest[len(table) + 1 :]
    return rest


def _known_tables() -> set[str]:
    from flask import current_app

    db = current_app.extensions.get("sqlalchemy")
    if db is None:
        return set()
    return {table.name for table in db.metadata.tables.values()}


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=utcnow
    )
