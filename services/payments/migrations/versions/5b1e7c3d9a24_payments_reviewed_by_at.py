"""payments: reviewed_by and reviewed_at, the admin who last marked a flagged payment reviewed
(POST /payments/{id}/reviewed) and when: the flag is cleared, its last reason kept

Revision ID: 5b1e7c3d9a24
Revises: 88da996d39f1
Create Date: 2026-12-06 18:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b1e7c3d9a24"
down_revision = "88da996d39f1"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "payments", sa.Column("reviewed_by", sa.Integer(), nullable=True), schema="payments"
    )
    op.add_column(
        "payments",
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        schema="payments",
    )


def downgrade():
    op.drop_column("payments", "reviewed_at", schema="payments")
    op.drop_column("payments", "reviewed_by", schema="payments")
