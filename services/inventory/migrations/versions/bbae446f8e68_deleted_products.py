"""inventory: deleted_products, the products whose `product.deleted` was heard (no stock or
holdings after it)

Revision ID: bbae446f8e68
Revises: 5c1e7d20b9a4
Create Date: 2026-12-05 16:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "bbae446f8e68"
down_revision = "5c1e7d20b9a4"
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
        schema="inventory",
    )


def downgrade():
    op.drop_table("deleted_products", schema="inventory")
