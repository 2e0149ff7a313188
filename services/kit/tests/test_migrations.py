"""Every service's Alembic history matches its models, and autogenerate (the README's
`flask db migrate`) sees the tables that already exist in the service's own schema."""

import importlib
import shutil

import pytest
from flask_migrate import migrate

from services.kit.testing import build_app
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
