"""collector: pages.links (the in-scope pages a page links to, followed when it answers 304)

Revision ID: 8a68feee20a7
Revises: b41c7d2e9a05
Create Date: 2026-12-06 02:45:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "8a68feee20a7"
down_revision = "b41c7d2e9a05"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "pages",
        sa.Column(
            "links",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        schema="collector",
    )
    # A page kept before knows none of its links: asked whole once, it learns them; a 304 now
    # would walk nothing past it.
    op.execute("UPDATE collector.pages SET etag = NULL, last_modified = NULL")


def downgrade():
    op.drop_column("pages", "links", schema="collector")
