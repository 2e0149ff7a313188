"""refresh tokens name the token that replaced them, so a retried refresh is told from a reuse

Revision ID: 89757d6503c5
Revises: 7b1e2c9d4f10
Create Date: 2026-12-07 11:14:33

"""

import sqlalchemy as sa
from alembic import op

revision = "89757d6503c5"
down_revision = "7b1e2c9d4f10"
branch_labels = None
depends_on = None


def upgrade():
    # Tokens spent before it name no successor: presented again, they are a reuse, as they were.
    op.add_column(
        "refresh_tokens",
        sa.Column("replaced_by", sa.String(length=64), nullable=True),
        schema="auth",
    )


def downgrade():
    op.drop_column("refresh_tokens", "replaced_by", schema="auth")
