"""Payments (one per attempt to pay an order: its amount, the provider's PaymentIntent, its
status), the refunds asked of the provider and those it made, the provider's webhook events
already handled, the Idempotency-Keys of POST /payments and of refunds, and the outbox."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import uuid4

from sqlalchemy import (
    Boolean,
    CheckConstraint,
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
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import TimestampMixin, make_db
from services.kit.idempotency import IdempotencyKeyMixin
from services.kit.outbox import Outbox

db = make_db("payments")
outbox = Outbox(db)

METHODS = ("card", "pix")
STATUSES = (
    "requires_action",
    "processing",
    "succeeded",
    "failed",
    "canceled",
    "refunded",
    "partially_refunded",
)
# A payment that holds its order: money taken or on its way. At most one per order (an index).
OPEN = ("requires_action", "processing", "succeeded", "partially_refunded")
# The partial unique index over OPEN: a write it refuses is a second open payment of the order.
OPEN_PAYMENT_INDEX = "uq_payments_open_order_id"
# Waiting for the provider's word: what reconciliation asks about.
UNSETTLED = ("requires_action", "processing")
CURRENCY = "BRL"
# What `review_reason` holds at most (room for a few causes, REVIEW_REASONS_APART): a reason sent
# back to mark it reviewed is no longer.
REVIEW_REASON_MAX = 2000
# What one cause holds at most (the provider's words in it are its own length): several fit.
REVIEW_CAUSE_MAX = 500
# Between two causes in one `review_reason`: a line of its own for each (a cause's line breaks,
# the provider's, are made spaces; the console says each cause apart).
REVIEW_REASONS_APART = "\n"


# What a payment's refunds may give back in all (`Payment.refundable`), as SQL.
REFUNDABLE = "COALESCE(received_amount, amount)"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Payment(TimestampMixin, db.Model):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # The order's client as orders said it (payment.failed names it, for notifications).
    client_id: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    # `processing` from the moment the row is written, before the provider is asked.
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="processing")
    # The order's total as orders said it; the provider gets it in integer centavos.
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default=CURRENCY)
    # The provider's payment-method id (`pm_...`): a card number never reaches Feira.
    payment_method: Mapped[str | None] = mapped_column(String(255))
    # The PaymentIntent's id, once the provider answered.
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # Why it failed as a machine reads it (Stripe's decline_code, else its code): the client is
    # told why in Portuguese from this, never from the provider's English words above.
    failure_code: Mapped[str | None] = mapped_column(String(60))
    # What the provider reports it received once it succeeded (Stripe's `amount_received`): a
    # PIX may be paid with another amount than `amount` (flagged), and only what came can go
    # back. Null before, or when the provider did not say: `amount` counts (`refundable`).
    received_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    refunded_amount: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), nullable=False, server_default=text("0")
    )
    pix_qr_code: Mapped[str | None] = mapped_column(Text)
    pix_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The provider reported something Feira will not act on by itself (another amount): an
    # admin looks.
    needs_review: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    review_reason: Mapped[str | None] = mapped_column(String(REVIEW_REASON_MAX))
    # The admin who last said the flag was looked at, and when (the flag cleared, its reason
    # kept): a new cause flags it again, and these stay until the next review.
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why its order no longer takes it, when that was heard before the provider's first answer
    # (nothing to cancel or refund yet), or while the provider would not cancel it (Stripe, a
    # `processing` PaymentIntent): acted on as soon as its next answer is applied. One of
    # `reasons.LET_GO`, whole: the console says each in Portuguese.
    let_go: Mapped[str | None] = mapped_column(String(200))
    # The order read again once this row was committed, and found payable at this amount: from
    # then on its events find the row. The provider is asked only after; until then a crash
    # leaves a row the provider never heard of, which resuming checks first (or drops).
    order_checked: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    # The order's `updated_at` when it was last read (created, then checked): an `order.updated`
    # of an edit made before that read is one this payment already saw, or one a newer edit
    # replaced (the relay may deliver a subscriber's events out of order after a failure).
    order_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    # Part of every idempotency key sent to the provider about it (`payment-<id>-<nonce>`): the
    # id alone would repeat once a database is made anew, and the provider keeps keys a day.
    nonce: Mapped[str] = mapped_column(String(32), nullable=False, default=lambda: uuid4().hex)

    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status_known"),
        CheckConstraint(_one_of("method", METHODS), name="method_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            f"refunded_amount >= 0 AND refunded_amount <= {REFUNDABLE}",
            name="refund_within_amount",
        ),
        # One open payment per order, whoever tries at the same time.
        Index(
            OPEN_PAYMENT_INDEX,
            "order_id",
            unique=True,
            postgresql_where=text(_one_of("status", OPEN)),
        ),
        Index("ix_payments_order_id_created_at", "order_id", "created_at"),
        Index("ix_payments_created_at_id", "created_at", "id"),
        # Reconciliation's question: the unsettled ones, oldest first.
        Index(
            "ix_payments_unsettled_updated_at",
            "updated_at",
            postgresql_where=text(_one_of("status", UNSETTLED)),
        ),
        Index(
            "ix_payments_needs_review_created_at",
            "created_at",
            postgresql_where=text("needs_review"),
        ),
    )

    @property
    def refundable(self) -> Decimal:
        """What refunds may give back in all: what the provider received, or the amount."""
        return self.amount if self.received_amount is None else self.received_amount


# A refund's status at the provider (Stripe's): one `failed` or `canceled` returned nothing.
REFUND_NOT_RETURNED = ("failed", "canceled")
# Not yet settled there: counted as on its way, and asked about by reconciliation once its
# events are overdue (they may all have been lost).
REFUND_UNSETTLED = ("pending", "requires_action")


class Refund(db.Model):
    """A refund the provider made, once (its id is unique), and its status there, as last
    heard: the sum of those not `REFUND_NOT_RETURNED` is the refunded amount."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    provider_ref: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    # pending, requires_action, succeeded, failed or canceled: the provider's word, forward
    # only (a succeeded refund can still fail: the card was closed meanwhile).
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="succeeded")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    # When reconciliation, asking about it while unsettled, heard that the provider no longer
    # knows it (404): not asked about again (its payment is flagged for review), still counted
    # as it was; a webhook of it still applies.
    lost_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Reconciliation's question: the refunds still unsettled at the provider, oldest first.
        Index(
            "ix_refunds_unsettled_created_at",
            "created_at",
            postgresql_where=text(_one_of("status", REFUND_UNSETTLED)),
        ),
    )


# A refund asked of the provider: `open` from just before the provider hears of it (its own
# committed transaction) until its answer is recorded with the refund (`made`) or its refusal
# (`refused`); one left open lost its answer (the provider down mid-call, a crash) and is asked
# again, same key and amount, before any other refund of the payment. `unknown`: open longer
# than the provider keeps keys, so not asked again (the payment is flagged for review).
REFUND_ASK_STATES = ("open", "made", "refused", "unknown")


class RefundAsk(db.Model):
    """The payment's n-th refund request to the provider (its idempotency key's n) and amount.
    No foreign key: it is written while the payment's row is locked FOR UPDATE, which a
    foreign key's check (FOR KEY SHARE on that row) from another transaction would wait for."""

    __tablename__ = "refund_asks"

    payment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, server_default="open")
    asked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(_one_of("state", REFUND_ASK_STATES), name="state_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # Reconciliation's question: the asks left open, oldest first.
        Index("ix_refund_asks_open_asked_at", "asked_at", postgresql_where=text("state = 'open'")),
    )


class WebhookEvent(db.Model):
    """A provider event already handled: a redelivery of its id does nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(80), nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class IdempotencyKey(IdempotencyKeyMixin, db.Model):
    """The Idempotency-Keys of POST /payments: `resource_id` is the payment the key made."""

    __tablename__ = "idempotency_keys"


class RefundIdempotencyKey(IdempotencyKeyMixin, db.Model):
    """The Idempotency-Keys of POST /payments/{id}/refund: while unanswered, `resource_id` is the
    n of the refund ask its request made (bound in the ask's own transaction), so a retry
    finishes that refund, or answers it once made, and never asks for another."""

    __tablename__ = "refund_idempotency_keys"
