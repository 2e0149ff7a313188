"""read model: known clients, addresses and products

Revision ID: b7e4c2a9d1f3
Revises: 8d816a9280cc
Create Date: 2026-12-03 17:05:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e4c2a9d1f3"
down_revision = "8d816a9280cc"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "known_clients",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_clients")),
        schema="orders",
    )
    op.create_table(
        "known_addresses",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("version", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_addresses")),
        schema="orders",
    )
    op.create_table(
        "known_products",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_products")),
        schema="orders",
    )


def downgrade():
    op.drop_table("known_products", schema="orders")
    op.drop_table("known_addresses", schema="orders")
    op.drop_table("known_clients", schema="orders")
