"""collector: pages.image_hashes per product ([[product id, sha256]])

Revision ID: 3c1f0e7a5b92
Revises: 8a68feee20a7
Create Date: 2026-12-06 02:50:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "3c1f0e7a5b92"
down_revision = "8a68feee20a7"
branch_labels = None
depends_on = None


def upgrade():
    # A page of one product: its pictures were that product's. A page of several cannot say whose
    # each was: forgotten, each is sent again and products answers the one it has with a 200.
    op.execute(
        """
        UPDATE collector.pages SET image_hashes = CASE
            WHEN jsonb_array_length(products) = 1 THEN (
                SELECT coalesce(jsonb_agg(jsonb_build_array(products -> 0 -> 'product_id', hash)),
                                '[]')
                FROM jsonb_array_elements(image_hashes) AS hash)
            ELSE '[]' END
        WHERE image_hashes <> '[]'
        """
    )


def downgrade():
    op.execute(
        """
        UPDATE collector.pages SET image_hashes = (
            SELECT coalesce(jsonb_agg(DISTINCT sent -> 1), '[]')
            FROM jsonb_array_elements(image_hashes) AS sent)
        WHERE image_hashes <> '[]'
        """
    )
