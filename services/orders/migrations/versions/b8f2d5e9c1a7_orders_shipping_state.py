"""orders.shipping_state: the UF an order ships to, copied from the read model when its address
is given, so the KPIs' states no longer follow a later edit of the address; the KPIs' covering
index carries it instead of the address

Revision ID: b8f2d5e9c1a7
Revises: a9d3e7f1b2c4
Create Date: 2026-12-08 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b8f2d5e9c1a7"
down_revision = "a9d3e7f1b2c4"
branch_labels = None
depends_on = None


def _kpis_index(last_column: str) -> None:
    op.create_index(
        "ix_orders_created_at_kpis",
        "orders",
        ["created_at"],
        unique=False,
        schema="orders",
        postgresql_include=["status", "total", "client_id", last_column],
    )


def upgrade():
    op.drop_index("ix_orders_created_at_kpis", table_name="orders", schema="orders")
    op.add_column("orders", sa.Column("shipping_state", sa.String(length=2)), schema="orders")
    # The past orders' UF as the read model holds it now: what they shipped to is not recorded
    # anywhere else, and an address edited since is the rare exception.
    op.execute(
        """UPDATE orders.orders o SET shipping_state = a.state
           FROM orders.known_addresses a
           WHERE a.id = o.shipping_address_id AND a.state IS NOT NULL"""
    )
    _kpis_index("shipping_state")


def downgrade():
    op.drop_index("ix_orders_created_at_kpis", table_name="orders", schema="orders")
    op.drop_column("orders", "shipping_state", schema="orders")
    _kpis_index("shipping_address_id")
