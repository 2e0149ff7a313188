"""clients: an index on phone, which the list filters by (?phone=)

Revision ID: da3dd6b469da
Revises: f2a4c6e8b0d1
Create Date: 2026-12-07 04:43:45.630897

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "da3dd6b469da"
down_revision = "f2a4c6e8b0d1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_clients_phone", "clients", ["phone"], unique=False, schema="clients")


def downgrade():
    op.drop_index("ix_clients_phone", table_name="clients", schema="clients")
