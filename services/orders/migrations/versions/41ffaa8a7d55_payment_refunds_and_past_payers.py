"""orders.payment_refunds: what payments last said went back of each payment, whichever order it
paid, so a refund heard before the success that pays its order is not lost, and the newest (by
the payment's `updated_at`) is kept, so a refund that failed lowers it; and the payment_id of
orders paid before orders recorded it, from their history

An order paid by payments has a `paid` line in its history by "payments", noted "payment N": the
latest such line names the payment. Refunds made before this deploy were not kept anywhere
orders can read: those orders show 0.00 refunded until payments next announces a change of
their payment's refunds.

Revision ID: 41ffaa8a7d55
Revises: a1c4e7b9d2f5
Create Date: 2026-12-11 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "41ffaa8a7d55"
down_revision = "a1c4e7b9d2f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_refunds",
        sa.Column("payment_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("refunded_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("version", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "refunded_amount >= 0", name=op.f("ck_payment_refunds_refunded_not_negative")
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_payment_refunds")),
        schema="orders",
    )
    op.execute(
        """UPDATE orders.orders o SET payment_id = paid.payment_id
           FROM (
               SELECT DISTINCT ON (order_id) order_id,
                      substring(note from '^payment ([0-9]+)$')::integer AS payment_id
               FROM orders.order_history
               WHERE status = 'paid' AND by_service = 'payments'
                 AND note ~ '^payment [0-9]+$'
               ORDER BY order_id, id DESC
           ) paid
           WHERE o.id = paid.order_id AND o.payment_id IS NULL"""
    )


def downgrade():
    # The payment_ids filled stay: the column is a1c4e7b9d2f5's, and they are right. What was
    # heard of payments' refunds goes (a1c4e7b9d2f5 keeps only the order's figure): each order
    # keeps its refunded_amount, and payments' next event of a payment sets its figure again.
    op.drop_table("payment_refunds", schema="orders")
