"""payments: order_updated_at, the order's `updated_at` as payments last read it, so an
`order.updated` older than that read (delivered late, after a newer one) lets nothing go

Revision ID: e2b7f4a9c631
Revises: d8a3c6f1b925
Create Date: 2026-12-06 03:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e2b7f4a9c631"
down_revision = "d8a3c6f1b925"
branch_labels = None
depends_on = None


def upgrade():
    # Rows written before this column have none: every edit is newer for them, as before.
    op.add_column(
        "payments",
        sa.Column("order_updated_at", sa.DateTime(timezone=True), nullable=True),
        schema="payments",
    )


def downgrade():
    op.drop_column("payments", "order_updated_at", schema="payments")
