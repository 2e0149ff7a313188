"""inventory: deleted_clients, the clients whose `client.deleted` was heard (no holdings after it)

Revision ID: 5c1e7d20b9a4
Revises: a559876fdc74
Create Date: 2026-12-05 13:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c1e7d20b9a4"
down_revision = "a559876fdc74"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "deleted_clients",
        sa.Column("client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_deleted_clients")),
        schema="inventory",
    )


def downgrade():
    op.drop_table("deleted_clients", schema="inventory")
