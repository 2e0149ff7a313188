"""payments: refunds.status, each refund's status at the provider, so one that fails after it
was made (`charge.refund.updated`) is no longer counted as money returned

Revision ID: f4c8a1d05b37
Revises: e2b7f4a9c631
Create Date: 2026-12-06 03:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f4c8a1d05b37"
down_revision = "e2b7f4a9c631"
branch_labels = None
depends_on = None


def upgrade():
    # The refunds recorded so far were counted as made: they stay counted.
    op.add_column(
        "refunds",
        sa.Column("status", sa.String(length=20), server_default="succeeded", nullable=False),
        schema="payments",
    )


def downgrade():
    op.drop_column("refunds", "status", schema="payments")
