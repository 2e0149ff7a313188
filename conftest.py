"""Session fixtures for every suite: one real PostgreSQL and one signing key pair."""

import pytest

from services.kit.testing import access_token, bearer, make_keys, start_database


@pytest.fixture(scope="session")
def database():
    yield from start_database()


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def user(jwt_keys):
    """Headers of a signed-in `user`, as auth would sign them (services that are not auth)."""
    return bearer(access_token(jwt_keys, user_id=10, role="user"))


@pytest.fixture
def admin(jwt_keys):
    """Headers of a signed-in `admin`."""
    return bearer(access_token(jwt_keys, user_id=1, role="admin"))
