"""incidents: what the webhook and the e-mail made of each notification

Revision ID: a3c5e7f90b12
Revises: 9e4301a5e4d6
Create Date: 2026-12-04 23:30:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "a3c5e7f90b12"
down_revision = "9e4301a5e4d6"
branch_labels = None
depends_on = None


def upgrade():
    # Incidents notified before this are left with none: what became of those is not known.
    op.add_column(
        "incidents",
        sa.Column(
            "deliveries",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="monitoring",
    )


def downgrade():
    op.drop_column("incidents", "deliveries", schema="monitoring")
