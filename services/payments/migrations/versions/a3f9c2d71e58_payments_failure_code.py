"""payments: failure_code, why a payment failed as the provider codes it (decline_code, else code)

Revision ID: a3f9c2d71e58
Revises: c5d1e8a2f7b4
Create Date: 2026-12-05 09:06:37.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a3f9c2d71e58"
down_revision = "c5d1e8a2f7b4"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("payments", sa.Column("failure_code", sa.String(60)), schema="payments")


def downgrade():
    op.drop_column("payments", "failure_code", schema="payments")
