"""Notifications (one per order and template, whatever redelivers the event), the WhatsApp status
webhooks already applied (one per message id and status), those that came before their message's
send was recorded, and the outbox's inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import TimestampMixin, make_db
from services.kit.outbox import Outbox

db = make_db("notifications")
outbox = Outbox(db)

CHANNELS = ("whatsapp", "email")
STATUSES = ("queued", "sent", "delivered", "read", "failed")
# The event each template tells of.
TEMPLATES = {
    "order.paid": "order_paid",
    "order.shipped": "order_shipped",
    "order.delivered": "order_delivered",
    "order.cancelled": "order_cancelled",
    "payment.failed": "payment_failed",
}


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Notification(TimestampMixin, db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Chosen when it is sent (the client's phone and opt-in then), null while queued.
    channel: Mapped[str | None] = mapped_column(String(10))
    # E.164 (`+5511912345678`) or an e-mail address: personal data, masked in every answer.
    to: Mapped[str | None] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(40), nullable=False)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False)
    client_id: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="queued")
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # WhatsApp's message id (`wamid.…`), once the provider accepted it.
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    # When the sender may try it (again): now, or later after a 429/5xx.
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    # The event's facts the message tells: total, status, note (a shipped or delivered order's
    # tracking code, a failed payment's reason; never the shop's own note of another step).
    parameters: Mapped[dict] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )

    __table_args__ = (
        # One message per order and event, however often the event is delivered.
        UniqueConstraint("order_id", "template", name="uq_notifications_order_id_template"),
        CheckConstraint(_one_of("status", STATUSES), name="status_known"),
        CheckConstraint(f"channel IS NULL OR {_one_of('channel', CHANNELS)}", name="channel_known"),
        CheckConstraint(_one_of("template", TEMPLATES.values()), name="template_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_notifications_created_at_id", "created_at", "id"),
        Index("ix_notifications_client_id_created_at", "client_id", "created_at"),
        # The sender's question: the queued ones that are due, soonest first.
        Index(
            "ix_notifications_queued_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("status = 'queued'"),
        ),
    )


class StatusSeen(db.Model):
    """A (message id, status) pair from WhatsApp's webhooks already applied: a redelivery of it
    changes nothing. Forgotten after STATUSES_SEEN_KEPT by the sender's chore."""

    __tablename__ = "statuses_seen"

    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class EarlyStatus(db.Model):
    """A WhatsApp status for a message id no notification has yet: the provider may report `sent`
    before the sender has recorded the id it answered. The sender applies and deletes them when it
    records the id; those of ids that never become ours (another app on the number) are forgotten
    after EARLY_STATUSES_KEPT by the sender's chore."""

    __tablename__ = "early_statuses"

    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    # WhatsApp's error of a `failed` status, as the notification would take it.
    error: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (Index("ix_early_statuses_received_at", "received_at"),)
