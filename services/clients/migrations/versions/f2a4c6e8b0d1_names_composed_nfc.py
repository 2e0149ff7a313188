"""clients' names and addresses in Unicode's composed form (NFC), as the API now reads them

Revision ID: f2a4c6e8b0d1
Revises: c4f1a9e27d30
Create Date: 2026-12-07 00:20:00.000000

"""

from services.kit.migrations import compose_text

# revision identifiers, used by Alembic.
revision = "f2a4c6e8b0d1"
down_revision = "c4f1a9e27d30"
branch_labels = None
depends_on = None


def upgrade():
    compose_text("clients.clients", "name")
    compose_text("clients.addresses", "city", "street", "number", "complement")


def downgrade():
    # Nothing to undo: the composed text is the same text, in the form the API stores.
    pass
