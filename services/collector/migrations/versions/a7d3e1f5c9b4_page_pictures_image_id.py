"""collector: an index on page_pictures(image_id) (whether another page holds a picture)

Revision ID: a7d3e1f5c9b4
Revises: e5b7c9d1f3a2
Create Date: 2026-12-06 08:40:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7d3e1f5c9b4"
down_revision = "e5b7c9d1f3a2"
branch_labels = None
depends_on = None


def upgrade():
    # Asked under a product's pictures lock each time a page lets a picture go.
    op.create_index(
        "ix_page_pictures_image_id",
        "page_pictures",
        ["image_id"],
        unique=False,
        schema="collector",
    )


def downgrade():
    op.drop_index("ix_page_pictures_image_id", table_name="page_pictures", schema="collector")
