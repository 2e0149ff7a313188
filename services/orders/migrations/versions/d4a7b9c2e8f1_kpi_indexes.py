"""the KPIs' covering indexes: a period's orders, and their lines, from the index alone

Revision ID: d4a7b9c2e8f1
Revises: c3f1a8d2e6b4
Create Date: 2026-12-03 23:15:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d4a7b9c2e8f1"
down_revision = "c3f1a8d2e6b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_orders_created_at_kpis",
        "orders",
        ["created_at"],
        unique=False,
        schema="orders",
        postgresql_include=["status", "total", "client_id", "shipping_address_id"],
    )
    op.create_index(
        "ix_order_items_order_id_kpis",
        "order_items",
        ["order_id"],
        unique=False,
        schema="orders",
        postgresql_include=["product_id", "category_id", "quantity", "line_total"],
    )


def downgrade():
    op.drop_index("ix_order_items_order_id_kpis", table_name="order_items", schema="orders")
    op.drop_index("ix_orders_created_at_kpis", table_name="orders", schema="orders")
