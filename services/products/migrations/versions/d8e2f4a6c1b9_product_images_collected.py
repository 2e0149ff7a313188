"""product_images.collected: a picture the collector sent, the only kind it may remove

Revision ID: d8e2f4a6c1b9
Revises: c6d1e8f2a4b7
Create Date: 2026-12-06 08:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8e2f4a6c1b9"
down_revision = "c6d1e8f2a4b7"
branch_labels = None
depends_on = None


def upgrade():
    # Pictures stored before cannot say who sent them: taken as a person's, never removed by the
    # collector (a constant default: no rewrite of the table).
    op.add_column(
        "product_images",
        sa.Column("collected", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="products",
    )


def downgrade():
    op.drop_column("product_images", "collected", schema="products")
