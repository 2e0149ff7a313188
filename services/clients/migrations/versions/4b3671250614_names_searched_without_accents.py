"""clients: names searched without accents or case, word by word (unaccent, trigram index)

Revision ID: 4b3671250614
Revises: da3dd6b469da
Create Date: 2026-12-07 05:10:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "4b3671250614"
down_revision = "da3dd6b469da"
branch_labels = None
depends_on = None


def upgrade():
    # unaccent() is STABLE (it reads a dictionary found by search_path), so an index cannot hold
    # it; this wrapper names its dictionary by schema and is declared IMMUTABLE, which it is as
    # long as unaccent's rules file does not change (then: REINDEX). The extension itself is
    # created by the database's provisioning (services/kit/postgres.py), as pg_trgm is.
    op.execute(
        """
        CREATE FUNCTION clients.unaccent_lower(text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT lower(extensions.unaccent('extensions.unaccent'::regdictionary, $1)) $$
        """
    )
    op.drop_index("ix_clients_name_trgm", table_name="clients", schema="clients")
    op.execute(
        "CREATE INDEX ix_clients_name_unaccent_trgm ON clients.clients"
        " USING gin (clients.unaccent_lower(name) extensions.gin_trgm_ops)"
    )


def downgrade():
    op.drop_index("ix_clients_name_unaccent_trgm", table_name="clients", schema="clients")
    op.create_index(
        "ix_clients_name_trgm",
        "clients",
        ["name"],
        unique=False,
        schema="clients",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.execute("DROP FUNCTION clients.unaccent_lower(text)")
