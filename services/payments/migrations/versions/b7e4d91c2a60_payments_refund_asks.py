"""payments: refund_asks, each refund asked of the provider (its key's n, its amount) from just
before the provider hears of it, so one whose answer was lost is asked again, never anew

Revision ID: b7e4d91c2a60
Revises: a3f9c2d71e58
Create Date: 2026-12-05 15:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e4d91c2a60"
down_revision = "a3f9c2d71e58"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "refund_asks",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("state", sa.String(length=10), server_default="open", nullable=False),
        sa.Column(
            "asked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "state IN ('open', 'made', 'refused', 'unknown')",
            name=op.f("ck_refund_asks_state_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refund_asks_amount_positive")),
        sa.PrimaryKeyConstraint("payment_id", "n", name=op.f("pk_refund_asks")),
        schema="payments",
    )
    op.create_index(
        "ix_refund_asks_open_asked_at",
        "refund_asks",
        ["asked_at"],
        unique=False,
        schema="payments",
        postgresql_where=sa.text("state = 'open'"),
    )
    # The refunds made so far were asked as the payment's 1st, 2nd, ... in the order recorded.
    op.execute(
        "INSERT INTO payments.refund_asks (payment_id, n, amount, state, asked_at) "
        "SELECT payment_id, row_number() OVER (PARTITION BY payment_id ORDER BY id), amount, "
        "'made', created_at FROM payments.refunds"
    )


def downgrade():
    op.drop_index(
        "ix_refund_asks_open_asked_at",
        table_name="refund_asks",
        schema="payments",
        postgresql_where=sa.text("state = 'open'"),
    )
    op.drop_table("refund_asks", schema="payments")
