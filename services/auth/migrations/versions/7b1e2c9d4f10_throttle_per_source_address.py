"""throttle logins per (email, source address) and registrations per source address

Revision ID: 7b1e2c9d4f10
Revises: 36d2a4343bc0
Create Date: 2026-12-03 16:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7b1e2c9d4f10"
down_revision = "36d2a4343bc0"
branch_labels = None
depends_on = None


def upgrade():
    # The per-email counter locked the owner out with everyone else; it is short-lived data, so
    # nothing of it is carried over.
    op.drop_table("login_failures", schema="auth")
    op.create_table(
        "login_attempts",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", "source", name=op.f("pk_login_attempts")),
        schema="auth",
    )
    op.create_table(
        "login_email_failures",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_login_email_failures")),
        schema="auth",
    )
    op.create_table(
        "registration_attempts",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_registration_attempts")),
        schema="auth",
    )


def downgrade():
    op.drop_table("registration_attempts", schema="auth")
    op.drop_table("login_email_failures", schema="auth")
    op.drop_table("login_attempts", schema="auth")
    op.create_table(
        "login_failures",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_login_failures")),
        schema="auth",
    )
