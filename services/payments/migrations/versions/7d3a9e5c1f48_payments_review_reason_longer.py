"""payments: review_reason holds 2000 characters, room for a few causes of one flag (a new cause
of a payment flagged and not yet reviewed is added to its reason, not put in its place)

Revision ID: 7d3a9e5c1f48
Revises: 5b1e7c3d9a24
Create Date: 2026-12-06 19:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7d3a9e5c1f48"
down_revision = "5b1e7c3d9a24"
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column(
        "payments",
        "review_reason",
        type_=sa.String(length=2000),
        existing_type=sa.String(length=500),
        existing_nullable=True,
        schema="payments",
    )


def downgrade():
    # A reason longer than the old column is cut to it (its earlier causes first, whole).
    op.execute(
        "UPDATE payments.payments SET review_reason = left(review_reason, 500) "
        "WHERE length(review_reason) > 500"
    )
    op.alter_column(
        "payments",
        "review_reason",
        type_=sa.String(length=500),
        existing_type=sa.String(length=2000),
        existing_nullable=True,
        schema="payments",
    )
