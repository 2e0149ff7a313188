"""product_images.sha256: the uploaded bytes' hash, unique per product (a resent picture is one)

Revision ID: c6d1e8f2a4b7
Revises: a9d3e5f7b2c1
Create Date: 2026-12-05 20:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c6d1e8f2a4b7"
down_revision = "a9d3e5f7b2c1"
branch_labels = None
depends_on = None


def upgrade():
    # Pictures stored before keep NULL (never equal to another in a unique constraint): only
    # their re-encoded files are kept, and the hash is of the bytes as they were uploaded.
    op.add_column(
        "product_images",
        sa.Column("sha256", sa.String(length=64), nullable=True),
        schema="products",
    )
    op.create_unique_constraint(
        "uq_product_images_product_id_sha256",
        "product_images",
        ["product_id", "sha256"],
        schema="products",
    )


def downgrade():
    op.drop_constraint(
        "uq_product_images_product_id_sha256", "product_images", schema="products", type_="unique"
    )
    op.drop_column("product_images", "sha256", schema="products")
