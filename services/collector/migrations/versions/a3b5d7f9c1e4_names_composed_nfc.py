"""sources' names in Unicode's composed form (NFC), as the API now reads them

Revision ID: a3b5d7f9c1e4
Revises: d9f1a3c5e7b2
Create Date: 2026-12-07 00:20:00.000000

"""

from services.kit.migrations import compose_text

# revision identifiers, used by Alembic.
revision = "a3b5d7f9c1e4"
down_revision = "d9f1a3c5e7b2"
branch_labels = None
depends_on = None


def upgrade():
    # A name whose composed spelling another source already has keeps its own (the constraint).
    compose_text("collector.sources", "name", unique=("name",))


def downgrade():
    # Nothing to undo: the composed text is the same text, in the form the API stores.
    pass
