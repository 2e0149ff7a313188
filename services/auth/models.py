"""Users, their sessions (one per login: a refresh-token family), login and signup throttles."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.kit import TimestampMixin, make_db

db = make_db("auth")


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False, server_default="user")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")

    sessions: Mapped[list[Session]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        db.UniqueConstraint("email", name="uq_users_email"),
        CheckConstraint("role IN ('admin', 'user')", name="role"),
        CheckConstraint("email = lower(email)", name="email_lower"),
        Index("ix_users_role_active", "role", "active"),
        Index("ix_users_created_at", "created_at"),
        Index("ix_users_name", "name"),
    )


class Session(db.Model):
    """One login. Every refresh token it issues belongs to it; revoking it ends them all."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship(back_populates="sessions")


class RefreshToken(db.Model):
    """A refresh token of a session: spent once used (`used_at`), and then naming the token that
    replaced it (`replaced_by`, its jti), which a retry of this one replaces again within
    REFRESH_REUSE_GRACE_S (accounts.rotate). A spent token with no successor was superseded by
    such a retry: presented, it is a reuse."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # No foreign key: the session's expired tokens are deleted at each rotation, and a successor
    # gone (expired) makes its predecessor's retry a reuse, as a successor not found does.
    replaced_by: Mapped[str | None] = mapped_column(String(64))

    session: Mapped[Session] = relationship()


class LoginAttempt(db.Model):
    """Failed logins per (email, source address), existing account or not (so 429 reveals
    nothing), and when that address last signed in to that email: a known address is never
    slowed by the email's own ceiling. A signed-in session's wrong current passwords are counted
    here too, under `session <its id>` (accounts.update_me)."""

    __tablename__ = "login_attempts"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginEmailFailure(db.Model):
    """Failed logins per email from every address: past its ceiling, unknown addresses get one
    attempt per slot (`next_attempt_at`) on that email, so spreading guesses over many addresses
    is slow, and the owner's known address is not held up at all."""

    __tablename__ = "login_email_failures"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegistrationAttempt(db.Model):
    """Registrations per source address in a window: a taken email answers 409, so an unthrottled
    register would enumerate accounts."""

    __tablename__ = "registration_attempts"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
