"""Every service's Alembic history matches its models, and autogenerate (the README's
`flask db migrate`) sees the tables that already exist in the service's own schema."""

import importlib
import shutil

import pytest
from flask_migrate import migrate

from services.kit.testing import build_app


@pytest.mark.parametrize("service", ["auth", "clients", "products", "inventory"])
def test_autogenerate_on_a_migrated_service_finds_nothing_to_add(
    database, jwt_keys, tmp_path, service
):
    create_app = importlib.import_module(f"services.{service}").create_app
    app = build_app(create_app, service, database, jwt_keys, OUTBOX_SECRET="test-secret")
    directory = tmp_path / "migrations"
    shutil.copytree(app.extensions["migrate"].directory, directory)
    before = sorted(p.name for p in (directory / "versions").glob("*.py"))
    with app.app_context():
        migrate(directory=str(directory), message="should be empty")
    assert sorted(p.name for p in (directory / "versions").glob("*.py")) == before
