"""collector: site_turns.ended_at (when a site's last request ended: the next one's own pause,
a Crawl-delay read meanwhile, counts from it)

Revision ID: d4f6a8c2e1b7
Revises: c8e2f4a6b1d3
Create Date: 2026-12-06 13:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d4f6a8c2e1b7"
down_revision = "c8e2f4a6b1d3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "site_turns",
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        schema="collector",
    )
    # The end of a request written before is not known; it was no later than now, nor than
    # not_before (its end and its pause): the later estimate, so a pause is never cut short.
    op.execute("UPDATE collector.site_turns SET ended_at = least(not_before, now())")
    op.alter_column("site_turns", "ended_at", nullable=False, schema="collector")


def downgrade():
    op.drop_column("site_turns", "ended_at", schema="collector")
