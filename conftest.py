"""Session fixtures for every suite: one real PostgreSQL and one signing key pair."""

import pytest

from services.kit.testing import make_keys, start_database


@pytest.fixture(scope="session")
def database():
    yield from start_database()


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("keys"))
