"""names and descriptions in Unicode's composed form (NFC), as the API now reads them

Revision ID: e1f3a5c7d9b2
Revises: d8e2f4a6c1b9
Create Date: 2026-12-07 00:20:00.000000

"""

from services.kit.migrations import compose_text

# revision identifiers, used by Alembic.
revision = "e1f3a5c7d9b2"
down_revision = "d8e2f4a6c1b9"
branch_labels = None
depends_on = None


def upgrade():
    # A name whose composed spelling another already has keeps its own (the constraint).
    compose_text("products.categories", "name", "description", unique=("name",))
    compose_text("products.products", "name", "description", unique=("name",))


def downgrade():
    # Nothing to undo: the composed text is the same text, in the form the API stores.
    pass
