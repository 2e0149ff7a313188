"""collector: runs.rejected_count (every page or product rejected, not only the reasons kept)

Revision ID: b41c7d2e9a05
Revises: 7eb048baeff5
Create Date: 2026-12-05 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b41c7d2e9a05"
down_revision = "7eb048baeff5"
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: no rewrite (PostgreSQL 11+). Runs already finished count what they kept.
    op.add_column(
        "runs",
        sa.Column("rejected_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema="collector",
    )
    op.execute("UPDATE collector.runs SET rejected_count = jsonb_array_length(rejected)")


def downgrade():
    op.drop_column("runs", "rejected_count", schema="collector")
