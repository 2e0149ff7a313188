"""collector: site_turns (each site's last request: when it ended and when the site may next be
asked, kept across workers and rollouts)

Revision ID: c8e2f4a6b1d3
Revises: a7d3e1f5c9b4
Create Date: 2026-12-06 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c8e2f4a6b1d3"
down_revision = "a7d3e1f5c9b4"
branch_labels = None
depends_on = None


def upgrade():
    # Empty at first: a site not in it may be asked at once.
    op.create_table(
        "site_turns",
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_site_turns")),
        schema="collector",
    )


def downgrade():
    op.drop_table("site_turns", schema="collector")
