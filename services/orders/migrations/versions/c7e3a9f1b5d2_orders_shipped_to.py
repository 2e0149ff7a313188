"""orders.shipped_to: the address an order shipped to, as clients gave it when it shipped, so a
client editing that address later does not move a shipped order's label

Orders shipped before this deploy keep null: their address is read from clients as before.

Revision ID: c7e3a9f1b5d2
Revises: 41ffaa8a7d55
Create Date: 2026-12-07 05:00:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "c7e3a9f1b5d2"
down_revision = "41ffaa8a7d55"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "orders",
        sa.Column("shipped_to", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="orders",
    )


def downgrade():
    op.drop_column("orders", "shipped_to", schema="orders")
