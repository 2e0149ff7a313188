"""collector: page_pictures (each picture a page sent a product, and the one products made of it)

Revision ID: e5b7c9d1f3a2
Revises: 5d2a9c41e7b3
Create Date: 2026-12-06 08:30:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "e5b7c9d1f3a2"
down_revision = "5d2a9c41e7b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "page_pictures",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["collector.pages.id"],
            name=op.f("fk_page_pictures_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("page_id", "product_id", "sha256", name=op.f("pk_page_pictures")),
        schema="collector",
    )
    # The hashes sent before, in the order sent; products' ids for them were never kept, so the
    # collector never removes those pictures.
    op.execute(
        """
        INSERT INTO collector.page_pictures (page_id, product_id, sha256, position)
        SELECT id, (sent ->> 0)::integer, sent ->> 1, min(place) - 1
        FROM collector.pages, jsonb_array_elements(image_hashes) WITH ORDINALITY AS s(sent, place)
        GROUP BY 1, 2, 3
        """
    )
    op.drop_column("pages", "image_hashes", schema="collector")


def downgrade():
    op.add_column(
        "pages",
        sa.Column(
            "image_hashes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        schema="collector",
    )
    op.execute(
        """
        UPDATE collector.pages SET image_hashes = sent.hashes
        FROM (SELECT page_id, jsonb_agg(jsonb_build_array(product_id, sha256)
                                        ORDER BY product_id, position) AS hashes
              FROM collector.page_pictures GROUP BY page_id) AS sent
        WHERE pages.id = sent.page_id
        """
    )
    op.drop_table("page_pictures", schema="collector")
