"""shop notes dropped: paid and cancelled orders' notes were the shop's own (payment 7, PIX expired)

Revision ID: 5e0c9b7a2d14
Revises: 83b8837f12b4
Create Date: 2026-12-05 19:45:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5e0c9b7a2d14"
down_revision = "83b8837f12b4"
branch_labels = None
depends_on = None


def upgrade():
    # Kept before notifications told only client-facing notes (NOTE_TOLD): a failed one retried
    # by an admin would still have sent them.
    op.execute(
        """UPDATE notifications.notifications SET parameters = parameters || '{"note": ""}'
        WHERE template IN ('order_paid', 'order_cancelled') AND parameters->>'note' <> ''"""
    )


def downgrade():
    # The notes are gone; nothing to put back.
    pass
