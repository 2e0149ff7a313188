import pytest

from monitoring import create_app
from services.kit.testing import build_app, truncate_all


@pytest.fixture(scope="session")
def app(database, jwt_keys):
    # Every request computes afresh; test_api checks the cache on its own.
    return build_app(create_app, "monitoring", database, jwt_keys, STATUS_CACHE_SECONDS=0)


@pytest.fixture
def session(app):
    """The monitoring schema, empty, inside an app context."""
    truncate_all(app)
    db = app.extensions["sqlalchemy"]
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def web(app, session):
    return app.test_client()
