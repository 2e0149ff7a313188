"""payments: order_checked, the order read again once the payment's row was committed, before the
provider is asked (a row without it was never sent to the provider)

Revision ID: d8a3c6f1b925
Revises: b7e4d91c2a60
Create Date: 2026-12-05 19:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8a3c6f1b925"
down_revision = "b7e4d91c2a60"
branch_labels = None
depends_on = None


def upgrade():
    # Rows written before this column may have reached the provider: they count as checked, so
    # they are asked again with their key (as before), never dropped.
    op.add_column(
        "payments",
        sa.Column("order_checked", sa.Boolean(), nullable=False, server_default=sa.true()),
        schema="payments",
    )
    op.alter_column("payments", "order_checked", server_default=sa.text("false"), schema="payments")


def downgrade():
    op.drop_column("payments", "order_checked", schema="payments")
