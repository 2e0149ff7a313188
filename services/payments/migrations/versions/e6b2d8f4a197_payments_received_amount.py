"""payments: received_amount, what the provider reports it received (Stripe's amount_received),
so refunds give back at most that: a PIX paid with another amount refunds what came, and once
that is all back the payment is `refunded`, no longer holding its order

Revision ID: e6b2d8f4a197
Revises: 7d3a9e5c1f48
Create Date: 2026-12-07 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e6b2d8f4a197"
down_revision = "7d3a9e5c1f48"
branch_labels = None
depends_on = None

# reasons.OTHER_AMOUNT's start, as a payment flagged for another amount kept it.
OTHER_AMOUNT = "The provider reports ([0-9]{1,12}) centavos received"


def upgrade():
    op.add_column(
        "payments",
        sa.Column("received_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        schema="payments",
    )
    # Those paid so far received their amount, but for one flagged for another amount: what its
    # reason says came (none when it named no number). A payment an admin reviewed may have had
    # that reason replaced by a later cause: what it received is not known (null: refunds give
    # back at most its amount, as before).
    op.execute(
        sa.text(
            "UPDATE payments.payments SET received_amount = CASE "
            "WHEN review_reason ~ :other THEN substring(review_reason from :other)::numeric / 100 "
            "WHEN review_reason LIKE '%centavos received; the payment is%' THEN NULL "
            "WHEN reviewed_at IS NOT NULL THEN NULL "
            "ELSE amount END "
            "WHERE status IN ('succeeded', 'partially_refunded', 'refunded')"
        ).bindparams(other=OTHER_AMOUNT)
    )
    # One whose refunds already gave back all it received no longer holds its order.
    op.execute(
        "UPDATE payments.payments SET status = 'refunded' "
        "WHERE status = 'partially_refunded' AND refunded_amount >= received_amount"
    )
    op.drop_constraint(
        op.f("ck_payments_refund_within_amount"), "payments", type_="check", schema="payments"
    )
    op.create_check_constraint(
        op.f("ck_payments_refund_within_amount"),
        "payments",
        "refunded_amount >= 0 AND refunded_amount <= COALESCE(received_amount, amount)",
        schema="payments",
    )


def downgrade():
    # More than the amount went back only when more came: the old check holds at most it.
    op.execute(
        "UPDATE payments.payments SET refunded_amount = amount WHERE refunded_amount > amount"
    )
    op.drop_constraint(
        op.f("ck_payments_refund_within_amount"), "payments", type_="check", schema="payments"
    )
    op.create_check_constraint(
        op.f("ck_payments_refund_within_amount"),
        "payments",
        "refunded_amount >= 0 AND refunded_amount <= amount",
        schema="payments",
    )
    op.drop_column("payments", "received_amount", schema="payments")
