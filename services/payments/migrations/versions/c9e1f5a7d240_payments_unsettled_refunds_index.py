"""payments: an index on the refunds still unsettled at the provider (`pending`,
`requires_action`), which reconciliation asks about once their events are overdue

Revision ID: c9e1f5a7d240
Revises: a6d2e9c4b813
Create Date: 2026-12-06 13:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c9e1f5a7d240"
down_revision = "a6d2e9c4b813"
branch_labels = None
depends_on = None

UNSETTLED = sa.text("status IN ('pending', 'requires_action')")


def upgrade():
    op.create_index(
        "ix_refunds_unsettled_created_at",
        "refunds",
        ["created_at"],
        unique=False,
        schema="payments",
        postgresql_where=UNSETTLED,
    )


def downgrade():
    op.drop_index(
        "ix_refunds_unsettled_created_at",
        table_name="refunds",
        schema="payments",
        postgresql_where=UNSETTLED,
    )
