"""payments: let_go, why a payment's order no longer takes it (set before the provider answered)

Revision ID: c5d1e8a2f7b4
Revises: 62f2887973e5
Create Date: 2026-12-05 00:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5d1e8a2f7b4"
down_revision = "62f2887973e5"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("payments", sa.Column("let_go", sa.String(200)), schema="payments")


def downgrade():
    op.drop_column("payments", "let_go", schema="payments")
