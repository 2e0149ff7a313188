"""orders.external_ref: the placing system's own id for an order (a marketplace's), unique where
given, so a resync after the Idempotency-Key's 24 h is a 409 naming the order, not a second one

The partial unique index is built on a column every existing order leaves null: it holds nothing,
and is built in one scan of the table, during which orders cannot be written (placed, edited or
stepped: they wait, they are not refused). Not CONCURRENTLY: no migration here leaves its
transaction, and a scan of the orders a shop has is short; a very large table would want it.

Revision ID: a5834158e867
Revises: c7e3a9f1b5d2
Create Date: 2026-12-07 07:40:27.166535

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a5834158e867"
down_revision = "c7e3a9f1b5d2"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "orders", sa.Column("external_ref", sa.String(length=100), nullable=True), schema="orders"
    )
    op.create_index(
        "uq_orders_external_ref",
        "orders",
        ["external_ref"],
        unique=True,
        schema="orders",
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )


def downgrade():
    op.drop_index(
        "uq_orders_external_ref",
        table_name="orders",
        schema="orders",
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.drop_column("orders", "external_ref", schema="orders")
