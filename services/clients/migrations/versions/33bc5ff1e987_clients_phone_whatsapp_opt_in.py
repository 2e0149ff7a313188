"""clients: phone (E.164 Brazilian mobile, not unique) and whatsapp_opt_in

Revision ID: 33bc5ff1e987
Revises: 6e2a01cc1abf
Create Date: 2026-12-03 20:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "33bc5ff1e987"
down_revision = "6e2a01cc1abf"
branch_labels = None
depends_on = None


def upgrade():
    # Both are cheap on a table of any size: a NULL column, and a constant default (PostgreSQL 11+
    # keeps it in the catalogue, no rewrite); the CHECK scans the table once, all NULLs.
    op.add_column("clients", sa.Column("phone", sa.String(length=16), nullable=True))
    op.add_column(
        "clients",
        sa.Column("whatsapp_opt_in", sa.Boolean(), server_default="false", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_clients_phone_e164_mobile"), "clients", "phone ~ '^\\+55[1-9]{2}9[0-9]{8}$'"
    )


def downgrade():
    op.drop_constraint(op.f("ck_clients_phone_e164_mobile"), "clients", type_="check")
    op.drop_column("clients", "whatsapp_opt_in")
    op.drop_column("clients", "phone")
