"""product_sales: units sold per order and product, for the popularity sort

Revision ID: a9d3e5f7b2c1
Revises: f3ccbaf55089
Create Date: 2026-12-03 23:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a9d3e5f7b2c1"
down_revision = "f3ccbaf55089"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "product_sales",
        sa.Column("order_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("sold_on", sa.Date(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_product_sales_quantity_positive")),
        sa.PrimaryKeyConstraint("order_id", "product_id", name=op.f("pk_product_sales")),
        schema="products",
    )
    op.create_index(
        "ix_product_sales_sold_on_product_id",
        "product_sales",
        ["sold_on", "product_id"],
        unique=False,
        schema="products",
        postgresql_include=["quantity"],
        postgresql_where=sa.text("NOT cancelled"),
    )


def downgrade():
    op.drop_index(
        "ix_product_sales_sold_on_product_id",
        table_name="product_sales",
        schema="products",
        postgresql_where=sa.text("NOT cancelled"),
    )
    op.drop_table("product_sales", schema="products")
