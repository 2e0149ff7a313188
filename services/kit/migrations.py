"""The body of every service's migrations/env.py: one Alembic history per service, its version
table inside the service's own schema (Flask-Migrate passes the schema in configure_args)."""

from __future__ import annotations

import logging

from alembic import context
from flask import current_app

log = logging.getLogger("alembic.env")


def run() -> None:
    migrate = current_app.extensions["migrate"]
    db = migrate.db
    args = dict(migrate.configure_args)

    def skip_empty_autogenerate(ctx, revision, directives):
        autogenerate = getattr(context.config.cmd_opts, "autogenerate", False)
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
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, **args)
        with context.begin_transaction():
            context.run_migrations()
