"""idempotency keys: order_id becomes the kit's resource_id

Revision ID: 8d816a9280cc
Revises: 5826daa6e293
Create Date: 2026-12-03 16:40:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "8d816a9280cc"
down_revision = "5826daa6e293"
branch_labels = None
depends_on = None


def upgrade():
    # A rename, not autogenerate's drop and add: the keys' orders are kept.
    op.alter_column("idempotency_keys", "order_id", new_column_name="resource_id", schema="orders")


def downgrade():
    op.alter_column("idempotency_keys", "resource_id", new_column_name="order_id", schema="orders")
