"""collector: sources.schedule_set_at (a schedule fires only at times after it was set)

Revision ID: 5d2a9c41e7b3
Revises: 3c1f0e7a5b92
Create Date: 2026-12-06 03:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5d2a9c41e7b3"
down_revision = "3c1f0e7a5b92"
branch_labels = None
depends_on = None


def upgrade():
    # now() is stable: a default without a rewrite (PostgreSQL 11+). The sources there are have
    # long had their first scheduled run, measured from their creation as before.
    op.add_column(
        "sources",
        sa.Column(
            "schedule_set_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        schema="collector",
    )
    op.execute("UPDATE collector.sources SET schedule_set_at = created_at")


def downgrade():
    op.drop_column("sources", "schedule_set_at", schema="collector")
