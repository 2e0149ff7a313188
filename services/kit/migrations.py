"""The body of every service's migrations/env.py: one Alembic history per service, its version
table inside the service's own schema (Flask-Migrate passes the schema in configure_args)."""

from __future__ import annotations

import logging

from alembic import context, op
from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("alembic.env")


def run() -> None:
    migrate = current_app.extensions["migrate"]
    db = migrate.db
    args = dict(migrate.configure_args)

    autogenerate = getattr(context.config.cmd_opts, "autogenerate", False)

    def skip_empty_autogenerate(ctx, revision, directives):
        if autogenerate and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")

    args.setdefault("process_revision_directives", skip_empty_autogenerate)
    if context.is_offline_mode():
        context.configure(
            url=db.engine.url, target_metadata=db.metadata, literal_binds=True, **args
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = db.engine
    if autogenerate:
        # The role's search_path starts with its own schema, and reflection reports the tables of
        # that default schema with no schema name: autogenerate would not match them to the
        # models' schema-qualified tables and would create them all again. With no default
        # schema of its own, every table is reported under its schema.
        engine = create_engine(
            db.engine.url,
            poolclass=NullPool,
            connect_args={"options": "-c search_path=pg_catalog"},
        )
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, **args)
        with context.begin_transaction():
            context.run_migrations()


def compose_text(table: str, *columns: str, unique: tuple[str, ...] = ()) -> None:
    """In a migration: rewrite `table`'s text `columns` (schema-qualified table) in Unicode's
    composed form (NFC), as the kit's `Text`, `Composed` and `Filter` now read what comes in, so
    that a row stored before is found by a search typed either way. A row of a column in `unique`
    whose composed text another row already holds (or would, from a lower id) stays as it was:
    rewriting it would break the constraint, and which of the two to rename is a person's call.
    The database must be UTF8, as the stack's `initdb` makes it."""
    # Table and column names come from the migration's own code, never from input (S608).
    for column in columns:
        composed = f"normalize(t.{column}, NFC)"
        statement = (
            f"UPDATE {table} t SET {column} = {composed} WHERE t.{column} IS NOT NFC NORMALIZED"  # noqa: S608
        )
        if column in unique:
            statement += f" AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.{column} = {composed})"  # noqa: S608
            statement += f" AND t.id = (SELECT min(x.id) FROM {table} x WHERE normalize(x.{column}, NFC) = {composed})"  # noqa: E501, S608
        op.execute(statement)
