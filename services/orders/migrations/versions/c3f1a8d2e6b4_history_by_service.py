"""order history: `by_service`, for steps a service takes on its own events (payments)

Revision ID: c3f1a8d2e6b4
Revises: b7e4c2a9d1f3
Create Date: 2026-12-03 20:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3f1a8d2e6b4"
down_revision = "b7e4c2a9d1f3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "order_history",
        sa.Column("by_service", sa.String(length=40), nullable=True),
        schema="orders",
    )
    op.alter_column(
        "order_history", "by", existing_type=sa.Integer(), nullable=True, schema="orders"
    )
    op.create_check_constraint(
        op.f("ck_order_history_by_one_of"),
        "order_history",
        "(by IS NULL) <> (by_service IS NULL)",
        schema="orders",
    )


def downgrade():
    op.drop_constraint(
        op.f("ck_order_history_by_one_of"), "order_history", type_="check", schema="orders"
    )
    op.execute("DELETE FROM orders.order_history WHERE by IS NULL")
    op.alter_column(
        "order_history", "by", existing_type=sa.Integer(), nullable=False, schema="orders"
    )
    op.drop_column("order_history", "by_service", schema="orders")
