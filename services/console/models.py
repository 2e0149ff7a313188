"""The console's server-side sessions: the browser holds only a random id (its SHA-256 names the
row); the user's API tokens stay here, encrypted with a key from CONSOLE_SECRET_KEY."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import make_db

db = make_db("console")


class ConsoleSession(db.Model):
    """One signed-in browser's session (before sign-in there is no row: a signed cookie)."""

    __tablename__ = "sessions"

    # SHA-256 of the cookie's value: a copy of this table signs nobody in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict] = mapped_column(JSONB, nullable=False, default=dict)
    user_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    # Fernet tokens (services/console/sessions.py): the access and refresh tokens auth gave.
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    # Past it the session is gone (expired rows are purged as new ones are made).
    expires_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )
