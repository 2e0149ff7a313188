"""payments: refund_idempotency_keys, the Idempotency-Keys of POST /payments/{id}/refund, so a
retry whose answer was lost is answered that refund and never makes a second one

Revision ID: a6d2e9c4b813
Revises: f4c8a1d05b37
Create Date: 2026-12-06 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "a6d2e9c4b813"
down_revision = "f4c8a1d05b37"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "refund_idempotency_keys",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_refund_idempotency_keys")),
        schema="payments",
    )
    op.create_index(
        "ix_refund_idempotency_keys_created_at",
        "refund_idempotency_keys",
        ["created_at"],
        unique=False,
        schema="payments",
    )


def downgrade():
    op.drop_index(
        "ix_refund_idempotency_keys_created_at",
        table_name="refund_idempotency_keys",
        schema="payments",
    )
    op.drop_table("refund_idempotency_keys", schema="payments")
