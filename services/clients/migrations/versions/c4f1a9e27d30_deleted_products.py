"""clients: deleted_products, the products whose `product.deleted` was heard (no favorite of
them after it)

Revision ID: c4f1a9e27d30
Revises: 226782dfd7b2
Create Date: 2026-12-06 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4f1a9e27d30"
down_revision = "226782dfd7b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "deleted_products",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_deleted_products")),
        schema="clients",
    )


def downgrade():
    op.drop_table("deleted_products", schema="clients")
