"""runs: cancelled, and who asked a running run to stop

Revision ID: 04959055354e
Revises: a3b5d7f9c1e4
Create Date: 2026-12-07 07:39:10.945791

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "04959055354e"
down_revision = "a3b5d7f9c1e4"
branch_labels = None
depends_on = None

BEFORE = "status IN ('queued', 'running', 'succeeded', 'partial', 'failed')"
AFTER = "status IN ('queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled')"


def upgrade():
    # Nullable, no default: no rewrite. The wider CHECK keeps the running version working (it
    # never writes `cancelled`); the table is small, and its check is one quick scan.
    op.add_column(
        "runs",
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        schema="collector",
    )
    op.add_column(
        "runs", sa.Column("cancel_requested_by", sa.Integer(), nullable=True), schema="collector"
    )
    op.drop_constraint(op.f("ck_runs_status_known"), "runs", type_="check", schema="collector")
    op.create_check_constraint(op.f("ck_runs_status_known"), "runs", AFTER, schema="collector")


def downgrade():
    # The older version knows no `cancelled`: such a run becomes a failed one, its error (who
    # stopped it) kept.
    op.execute("UPDATE collector.runs SET status = 'failed' WHERE status = 'cancelled'")
    op.drop_constraint(op.f("ck_runs_status_known"), "runs", type_="check", schema="collector")
    op.create_check_constraint(op.f("ck_runs_status_known"), "runs", BEFORE, schema="collector")
    op.drop_column("runs", "cancel_requested_by", schema="collector")
    op.drop_column("runs", "cancel_requested_at", schema="collector")
