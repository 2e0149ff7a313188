"""reservation_edits: an edit of an order's lines under way, so the sweeper can set the
reservation back to the stored lines when the edit's process died between inventory's commit
and its own

Revision ID: a9d3e7f1b2c4
Revises: f6c9d2e4a8b3
Create Date: 2026-12-06 05:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a9d3e7f1b2c4"
down_revision = "f6c9d2e4a8b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reservation_edits",
        sa.Column("order_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "since", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_reservation_edits")),
        schema="orders",
    )


def downgrade():
    op.drop_table("reservation_edits", schema="orders")
