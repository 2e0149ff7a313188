"""A refresh retried with the same token (its answer lost on the way) gets a new pair within
REFRESH_REUSE_GRACE_S, while the token it was traded for is unused; anything else that presents a
spent refresh token is a reuse, and revokes the session (RFC 9700's reuse detection)."""

from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select, update

from services.auth.models import RefreshToken, Session, db
from services.kit.testing import answered_behind, at_once, bearer

REUSED = "The refresh token was already used; the session has been revoked"


def refresh(client, tokens):
    return client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})


def verified(client, tokens) -> int:
    """What /auth/verify answers the gateway for the pair's access token."""
    return client.get("/auth/verify", headers=bearer(tokens["access_token"])).status_code


def claim(tokens, name, kind="refresh_token"):
    return jwt.decode(tokens[kind], options={"verify_signature": False})[name]


def rotated(client, login) -> tuple[dict, dict]:
    """A new session's first pair, and the pair its refresh answered (the answer a client may
    lose on the way)."""
    first = login()
    answered = refresh(client, first)
    assert answered.status_code == 200, answered.json
    return first, answered.json


def used_ago(app, tokens, seconds):
    """The pair's refresh token as if it had been used `seconds` ago."""
    with app.app_context():
        db.session.execute(
            update(RefreshToken)
            .where(RefreshToken.jti == claim(tokens, "jti"))
            .values(used_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )
        db.session.commit()
        db.session.remove()


def revoked_for(app, tokens) -> str | None:
    """Why the pair's session was revoked (None while it is live)."""
    with app.app_context():
        reason = db.session.scalar(
            select(Session.revoked_reason).where(Session.id == claim(tokens, "sid"))
        )
        db.session.remove()
    return reason


def unused_tokens(app, tokens) -> list[str]:
    """The jtis of the pair's session that can still be traded (its live chain's end)."""
    with app.app_context():
        jtis = db.session.scalars(
            select(RefreshToken.jti).where(
                RefreshToken.session_id == claim(tokens, "sid"), RefreshToken.used_at.is_(None)
            )
        ).all()
        db.session.remove()
    return list(jtis)


def test_a_refresh_retried_within_the_grace_gets_a_new_pair_that_works(client, register, login):
    register()
    first, lost = rotated(client, login)
    retried = refresh(client, first)
    assert retried.status_code == 200, retried.json
    assert set(retried.json) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert retried.json["token_type"] == "Bearer" and retried.json["expires_in"] == 900
    assert retried.json["refresh_token"] not in (first["refresh_token"], lost["refresh_token"])
    assert verified(client, retried.json) == 200
    # The lost pair's access token is not revoked: it lives out its 15 minutes.
    assert verified(client, lost) == 200
    assert refresh(client, retried.json).status_code == 200


def test_the_refresh_token_a_retry_replaced_revokes_the_session_when_presented(
    app, client, register, login
):
    register()
    first, lost = rotated(client, login)
    retried = refresh(client, first)
    assert retried.status_code == 200, retried.json
    # Whoever holds the lost answer's token now (the client never got it) is taken for a thief.
    stolen = refresh(client, lost)
    assert stolen.status_code == 401 and stolen.json["detail"] == REUSED
    assert revoked_for(app, first) == "refresh-token-reuse"
    assert refresh(client, retried.json).status_code == 401
    assert verified(client, retried.json) == 401


def test_a_retry_counts_within_the_grace_and_revokes_the_session_after_it(
    app, client, register, login
):
    register()
    grace = app.config["REFRESH_REUSE_GRACE_S"]
    within, _ = rotated(client, login)
    late, lost = rotated(client, login)
    used_ago(app, within, grace - 1)
    used_ago(app, late, grace + 1)
    assert refresh(client, within).status_code == 200
    answer = refresh(client, late)
    assert answer.status_code == 401 and answer.json["detail"] == REUSED
    assert revoked_for(app, late) == "refresh-token-reuse"
    assert refresh(client, lost).status_code == 401
    assert revoked_for(app, within) is None


def test_a_retry_after_the_pair_it_got_was_used_revokes_the_session(app, client, register, login):
    """Whoever used the token a refresh answered proved they received the answer: the spent token
    sent again, even within the grace, is no retry."""
    register()
    first, _ = rotated(client, login)
    retried = refresh(client, first)
    assert retried.status_code == 200, retried.json
    newest = refresh(client, retried.json)
    assert newest.status_code == 200
    again = refresh(client, first)
    assert again.status_code == 401 and again.json["detail"] == REUSED
    assert revoked_for(app, first) == "refresh-token-reuse"
    assert refresh(client, newest.json).status_code == 401


def test_with_no_grace_a_retried_refresh_revokes_the_session(
    app, client, register, login, monkeypatch
):
    register()
    kept, _ = rotated(client, login)
    assert refresh(client, kept).status_code == 200  # with the default grace, a retry
    monkeypatch.setitem(app.config, "REFRESH_REUSE_GRACE_S", 0)
    first, lost = rotated(client, login)
    retried = refresh(client, first)
    assert retried.status_code == 401 and retried.json["detail"] == REUSED
    assert revoked_for(app, first) == "refresh-token-reuse"
    assert refresh(client, lost).status_code == 401


def test_two_retries_at_once_leave_one_live_chain(app, client, register, login):
    """Both wait on the spent token's row: the second finds the first's pair unused, within the
    grace, and replaces it. Only the last pair's refresh token can be traded."""
    register()
    first, _ = rotated(client, login)

    def retry():
        answer = app.test_client().post(
            "/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        return answer.status_code, answer.json

    answers = at_once(app, retry)
    assert [status for status, _ in answers] == [200, 200]
    [live] = unused_tokens(app, first)
    [last] = [pair for _, pair in answers if claim(pair, "jti") == live]
    assert refresh(client, last).status_code == 200
    assert revoked_for(app, first) is None


def test_a_retry_racing_the_use_of_the_token_it_would_replace_ends_the_session(
    app, client, register, login
):
    """The lost answer's token used while the spent one is retried: both wait on that token's
    row, held here, and once it is let go the second to take it finds it used, and revokes."""
    register()
    first, answered = rotated(client, login)
    sent = [answered, first]

    def trade():
        tokens = sent.pop()
        return (
            app.test_client()
            .post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            .status_code
        )

    with app.app_context(), db.engine.connect() as holder:
        holder.execute(
            select(RefreshToken.jti)
            .where(RefreshToken.jti == claim(answered, "jti"))
            .with_for_update()
        )
        answers = answered_behind(app, holder, lambda: at_once(app, trade), waiters=2)
    assert sorted(answers) == [200, 401]
    assert revoked_for(app, first) == "refresh-token-reuse"
