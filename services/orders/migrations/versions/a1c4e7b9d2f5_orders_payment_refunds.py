"""orders.payment_id and orders.refunded_amount: the payment that paid an order and what went back
of it, as payments' events say; the KPIs' covering index carries the refunds too

Orders paid before this have no payment_id here: 41ffaa8a7d55 fills it from their history.

Revision ID: a1c4e7b9d2f5
Revises: b8f2d5e9c1a7
Create Date: 2026-12-10 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1c4e7b9d2f5"
down_revision = "b8f2d5e9c1a7"
branch_labels = None
depends_on = None

KPI_COLUMNS = ["status", "total", "client_id", "shipping_state"]


def _kpis_index(*more: str) -> None:
    op.create_index(
        "ix_orders_created_at_kpis",
        "orders",
        ["created_at"],
        unique=False,
        schema="orders",
        postgresql_include=[*KPI_COLUMNS, *more],
    )


def upgrade():
    op.drop_index("ix_orders_created_at_kpis", table_name="orders", schema="orders")
    # A NULL column and a constant default: no rewrite of the table (PostgreSQL 11+).
    op.add_column("orders", sa.Column("payment_id", sa.Integer()), schema="orders")
    op.add_column(
        "orders",
        sa.Column("refunded_amount", sa.Numeric(12, 2), server_default="0", nullable=False),
        schema="orders",
    )
    op.create_check_constraint(
        op.f("ck_orders_refunded_not_negative"),
        "orders",
        "refunded_amount >= 0",
        schema="orders",
    )
    _kpis_index("refunded_amount")


def downgrade():
    op.drop_index("ix_orders_created_at_kpis", table_name="orders", schema="orders")
    op.drop_constraint(
        op.f("ck_orders_refunded_not_negative"), "orders", type_="check", schema="orders"
    )
    op.drop_column("orders", "refunded_amount", schema="orders")
    op.drop_column("orders", "payment_id", schema="orders")
    _kpis_index()
