"""A guess whose (email, source) count another request's cleanup deletes while the guess is being
counted (an address's failures older than the window, a dead session's count): the guess is
counted all the same and answered as ever, never a 500 for a row gone between two statements."""

import jwt
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from services.auth.models import db
from services.kit.testing import bearer

WRONG = "wrong-one"


@pytest.fixture
def cleaned_up_meanwhile(app):
    """Arm with an (email, source): right after the next statement writing login_attempts, that
    pair's row is deleted and committed by another connection, as `_record_failure`'s or a
    session's cleanup would, unless the guess holds it locked by then. What each cleanup found:
    "deleted", or "locked" (it would have waited for the guess to be counted)."""
    with app.app_context():
        engine = db.engine
    armed, found = [], []

    def delete_pair(conn, cursor, statement, parameters, context, executemany):
        if not armed or not statement.lstrip().upper().startswith("INSERT INTO"):
            return
        if "login_attempts" not in statement:
            return
        email, source = armed.pop()
        with engine.connect() as other:
            try:
                other.execute(
                    text(
                        "DELETE FROM login_attempts WHERE (email, source) IN (SELECT email, source"
                        " FROM login_attempts WHERE email = :email AND source = :source"
                        " FOR UPDATE NOWAIT)"
                    ),
                    {"email": email, "source": source},
                )
                other.commit()
                found.append("deleted")
            except OperationalError:
                other.rollback()
                found.append("locked")

    event.listen(engine, "after_cursor_execute", delete_pair)
    yield lambda email, source: armed.append((email, source)) or found
    event.remove(engine, "after_cursor_execute", delete_pair)


def sign_in(client, password):
    return client.post("/auth/login", json={"email": "ana@example.com", "password": password})


def test_a_wrong_password_whose_count_is_cleaned_up_meanwhile_is_counted_then_throttled(
    client, register, cleaned_up_meanwhile
):
    register()
    assert sign_in(client, WRONG).status_code == 401
    found = cleaned_up_meanwhile("ana@example.com", "127.0.0.1")
    assert sign_in(client, WRONG).status_code == 401
    assert found == ["locked"]
    answers = [sign_in(client, WRONG).status_code for _ in range(4)]
    assert answers == [401] * 3 + [429]


def test_a_wrong_current_password_whose_count_is_cleaned_up_meanwhile_is_counted_then_throttled(
    client, register, login, cleaned_up_meanwhile
):
    register()
    tokens = login()
    headers = bearer(tokens["access_token"])
    guess = {"name": "X", "current_password": WRONG}
    assert client.patch("/auth/me", headers=headers, json=guess).status_code == 422
    sid = _session_id(tokens["access_token"])
    found = cleaned_up_meanwhile("ana@example.com", f"session {sid}")
    assert client.patch("/auth/me", headers=headers, json=guess).status_code == 422
    assert found == ["locked"]
    answers = [client.patch("/auth/me", headers=headers, json=guess).status_code for _ in range(4)]
    assert answers == [422] * 3 + [429]


def _session_id(access_token):
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]
