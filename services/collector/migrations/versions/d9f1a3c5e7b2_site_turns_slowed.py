"""collector: site_turns.slowed_s and slowed_until (a site that answered 429 stays slowed for
every run, not only the one it answered)

Revision ID: d9f1a3c5e7b2
Revises: c8e2f4a6b1d3
Create Date: 2026-12-07 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d9f1a3c5e7b2"
down_revision = "c8e2f4a6b1d3"
branch_labels = None
depends_on = None


def upgrade():
    # A constant default and a null: no rewrite. No site is slowed yet (a run's own slowing, kept
    # in its memory until now, ends with it).
    op.add_column(
        "site_turns",
        sa.Column("slowed_s", sa.Float(), server_default=sa.text("0"), nullable=False),
        schema="collector",
    )
    op.add_column(
        "site_turns",
        sa.Column("slowed_until", sa.DateTime(timezone=True), nullable=True),
        schema="collector",
    )


def downgrade():
    op.drop_column("site_turns", "slowed_until", schema="collector")
    op.drop_column("site_turns", "slowed_s", schema="collector")
