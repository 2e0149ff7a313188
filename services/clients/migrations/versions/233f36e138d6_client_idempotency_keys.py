"""clients: idempotency keys of POST /clients (the kit's table)

Revision ID: 233f36e138d6
Revises: 4b3671250614
Create Date: 2026-12-07 05:30:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "233f36e138d6"
down_revision = "4b3671250614"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "client_idempotency_keys",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_client_idempotency_keys")),
        schema="clients",
    )
    op.create_index(
        "ix_client_idempotency_keys_created_at",
        "client_idempotency_keys",
        ["created_at"],
        unique=False,
        schema="clients",
    )


def downgrade():
    op.drop_index(
        "ix_client_idempotency_keys_created_at",
        table_name="client_idempotency_keys",
        schema="clients",
    )
    op.drop_table("client_idempotency_keys", schema="clients")
