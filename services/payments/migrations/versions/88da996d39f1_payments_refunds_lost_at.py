"""payments: refunds.lost_at, when the provider answered it no longer knows a refund still
unsettled, so reconciliation stops asking about it (its payment flagged for review) and asks
about the payment's other refunds

Revision ID: 88da996d39f1
Revises: c9e1f5a7d240
Create Date: 2026-12-06 18:15:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "88da996d39f1"
down_revision = "c9e1f5a7d240"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "refunds",
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        schema="payments",
    )


def downgrade():
    op.drop_column("refunds", "lost_at", schema="payments")
