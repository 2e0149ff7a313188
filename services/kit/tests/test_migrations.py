"""Every service's Alembic history matches its models, and autogenerate (the README's
`flask db migrate`) sees the tables that already exist in the service's own schema."""

import importlib
import shutil

import psycopg
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, migrate, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from services.kit.migrations import compose_text
from services.kit.postgres import provision
from services.kit.testing import DATABASE, build_app
from services.registry import SERVICES


# Every registry service, monitoring included (stack/tests/test_registry.py checks the list).
@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_autogenerate_on_a_migrated_service_finds_nothing_to_add(
    database, jwt_keys, tmp_path, service
):
    registered = next(s for s in SERVICES if s.name == service)
    create_app = importlib.import_module(registered.module).create_app
    app = build_app(create_app, service, database, jwt_keys, OUTBOX_SECRET="test-secret")
    directory = tmp_path / "migrations"
    shutil.copytree(app.extensions["migrate"].directory, directory)
    before = sorted(p.name for p in (directory / "versions").glob("*.py"))
    with app.app_context():
        migrate(directory=str(directory), message="should be empty")
    after = sorted(p.name for p in (directory / "versions").glob("*.py"))
    added = [(directory / "versions" / name).read_text() for name in set(after) - set(before)]
    assert after == before, added


def test_compose_text_rewrites_decomposed_text_and_leaves_a_unique_clash_as_it_was(database):
    """`compose_text` in a migration: every decomposed value composed (NFC), but a unique name
    whose composed spelling another row holds, or a lower id would take, is left for a person."""
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(database.superuser_dsn, dbname=DATABASE),
        poolclass=NullPool,
    )
    table = "public.compose_text_probe"
    rows = [
        (1, "Perif\u00e9ricos", "Cafe\u0301"),  # already composed
        (2, "Perife\u0301ricos", None),  # its composed name is row 1's: left
        (3, "Saba\u0301", "Pa\u0303o"),
        (4, "Caf\u00e9 e cha\u0301", "cha\u0301"),
        (5, "Tra\u0323\u0302n", None),
        (6, "Tra\u0302\u0323n", None),  # composes as row 5 does (U+1EAD): a higher id, left
    ]
    try:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
            connection.execute(
                text(f"CREATE TABLE {table} (id int PRIMARY KEY, name text UNIQUE, note text)")
            )
            for row in rows:
                connection.execute(
                    text(f"INSERT INTO {table} VALUES (:id, :name, :note)"),  # noqa: S608
                    {"id": row[0], "name": row[1], "note": row[2]},
                )
            with Operations.context(MigrationContext.configure(connection)):
                compose_text(table, "name", "note", unique=("name",))
            stored = dict(
                (id_, (name, note))
                for id_, name, note in connection.execute(
                    text(f"SELECT id, name, note FROM {table} ORDER BY id")  # noqa: S608
                )
            )
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
    assert stored == {
        1: ("Perif\u00e9ricos", "Caf\u00e9"),
        2: ("Perife\u0301ricos", None),
        3: ("Sab\u00e1", "P\u00e3o"),
        4: ("Caf\u00e9 e ch\u00e1", "ch\u00e1"),
        5: ("Tr\u1eadn", None),
        6: ("Tra\u0302\u0323n", None),
    }


ROUND_TRIP = "feira_migrations_round_trip"


@pytest.fixture(scope="module")
def round_trip_database(database):
    """A database of its own, so taking a service down to nothing leaves the test database's
    tables (and the servers other tests hold on them) alone."""
    provision(database.superuser_dsn, ROUND_TRIP, database.passwords)
    return database


def db_of(app):
    return app.extensions["sqlalchemy"]


# A deploy rolled back runs the downgrades: each must undo its own upgrade exactly, so that
# going down one step and up again works at every step (the "stairway"), and from the bottom
# the schema is empty.
@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_every_migration_goes_down_and_up_again_one_step_at_a_time(
    round_trip_database, jwt_keys, service
):
    registered = next(s for s in SERVICES if s.name == service)
    create_app = importlib.import_module(registered.module).create_app
    app = build_app(
        create_app,
        service,
        round_trip_database,
        jwt_keys,
        OUTBOX_SECRET="test-secret",
        SQLALCHEMY_DATABASE_URI=round_trip_database.url(service).replace(
            f"/{DATABASE}", f"/{ROUND_TRIP}"
        ),
    )
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        history = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]
        downgrade(revision="base")
        left = inspect(db_of(app).engine).get_table_names(schema=service)
        below = "base"
        for revision in reversed(history):
            upgrade(revision=revision)
            downgrade(revision=below)
            upgrade(revision=revision)
            below = revision
        rebuilt = inspect(db_of(app).engine).get_table_names(schema=service)
        db_of(app).engine.dispose()
    assert left in ([], ["alembic_version"])
    assert "alembic_version" in rebuilt and len(rebuilt) > 1
