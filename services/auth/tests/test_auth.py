"""auth through HTTP against a real PostgreSQL: accounts, tokens, sessions and administration."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select

from services.auth.models import LoginAttempt, LoginEmailFailure, User, db
from services.kit import security
from services.kit.security import CREDENTIAL_HEADER
from services.kit.testing import access_token, at_once, bearer, from_service, signed

PROBLEM = "application/problem+json"


def auth(tokens):
    return bearer(tokens["access_token"])


# --- registration ---


def test_register_ignores_a_role_in_the_body(client):
    response = client.post(
        "/auth/register",
        json={
            "email": "eve@example.com",
            "password": "s3nha-forte",
            "name": "Eve",
            "role": "admin",
        },
    )
    assert response.status_code == 201
    assert response.json["role"] == "user"
    assert response.headers["Location"] == f"/auth/users/{response.json['id']}"
    assert "password" not in response.json and "password_hash" not in response.json


def test_password_is_stored_as_an_argon2_hash(app, register):
    register()
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$") and "s3nha-forte" not in stored


def test_duplicate_email_is_rejected_with_409_regardless_of_case(client, register):
    register(email="ana@example.com")
    response = client.post(
        "/auth/register", json={"email": "ANA@Example.com", "password": "s3nha-forte", "name": "A"}
    )
    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    assert response.json["errors"] == {"email": ["already taken"]}


def test_concurrent_registrations_of_one_email_give_one_201_and_409s(app, client):
    def attempt(_):
        return (
            app.test_client()
            .post(
                "/auth/register",
                json={"email": "race@example.com", "password": "s3nha-forte", "name": "Race"},
            )
            .status_code
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [201] + [409] * 7


def test_short_password_is_rejected_with_422_naming_password(client):
    response = client.post(
        "/auth/register", json={"email": "a@example.com", "password": "short", "name": "A"}
    )
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["password"]


@pytest.mark.parametrize("password", ["Maria.Souza@Example.com", "maria.souza", " MARIA.SOUZA "])
def test_a_password_that_is_the_email_or_its_name_part_is_a_422_naming_password(
    client, register, login, password
):
    body = {"email": "maria.souza@example.com", "password": password, "name": "Maria"}
    refused = client.post("/auth/register", json=body)
    assert refused.status_code == 422
    assert refused.json["errors"] == {
        "password": ["Must not be the e-mail address, nor its part before the @."]
    }
    register(email="maria.souza@example.com")
    headers = auth(login(email="maria.souza@example.com"))
    change = {"password": password, "current_password": "s3nha-forte"}
    changed = client.patch("/auth/me", headers=headers, json=change)
    assert changed.status_code == 422 and list(changed.json["errors"]) == ["password"]
    assert login(email="maria.souza@example.com")["access_token"]  # the old one still works


def test_invalid_email_and_missing_name_are_named_in_422(client):
    response = client.post("/auth/register", json={"email": "nope", "password": "s3nha-forte"})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"email", "name"}


@pytest.mark.parametrize("name", ["   ", "Ana\x07", "Ana\nSouza"])
def test_a_blank_name_or_one_with_a_control_character_is_refused_naming_it(client, name):
    body = {"email": "ana@example.com", "password": "s3nha-forte", "name": name}
    response = client.post("/auth/register", json=body)
    assert response.status_code == 422 and list(response.json["errors"]) == ["name"]


def test_body_that_is_not_json_is_rejected_with_400(client):
    response = client.post("/auth/register", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == PROBLEM


def test_wrong_content_type_is_rejected_with_400(client):
    response = client.post("/auth/register", data="email=a@b.c", content_type="text/plain")
    assert response.status_code == 400
    assert "application/json" in response.json["detail"]


# --- login and throttling ---


def test_login_returns_an_rs256_token_pair(client, register, login):
    user = register()
    tokens = login()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["sub"] == str(user["id"]) and claims["role"] == "user"
    assert claims["email"] == "ana@example.com" and claims["jti"] and claims["sid"]
    assert claims["exp"] - claims["iat"] == 900


def test_wrong_password_and_unknown_email_get_the_same_401(client, register):
    register()
    wrong = client.post("/auth/login", json={"email": "ana@example.com", "password": "nope-nope"})
    unknown = client.post("/auth/login", json={"email": "who@example.com", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["detail"] == unknown.json["detail"]
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")


def test_repeated_failures_throttle_the_account_with_429_and_retry_after(client, register):
    register()
    for _ in range(5):
        client.post("/auth/login", json={"email": "ana@example.com", "password": "wrong-one"})
    response = client.post(
        "/auth/login", json={"email": "ana@example.com", "password": "s3nha-forte"}
    )
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 900


def test_unknown_emails_are_throttled_like_real_ones(client):
    for _ in range(5):
        client.post("/auth/login", json={"email": "ghost@example.com", "password": "wrong-one"})
    response = client.post("/auth/login", json={"email": "ghost@example.com", "password": "x"})
    assert response.status_code == 429


def test_a_successful_login_clears_the_failure_count(app, client, register, login):
    register()
    for _ in range(3):
        client.post("/auth/login", json={"email": "ana@example.com", "password": "wrong-one"})
    login()
    with app.app_context():
        pair = db.session.get(LoginAttempt, ("ana@example.com", "127.0.0.1"))
        assert pair.failures == 0 and pair.last_success_at is not None


def test_concurrent_failures_are_all_counted(app, client, register):
    register()

    def fail(_):
        app.test_client().post("/auth/login", json={"email": "ana@example.com", "password": "x"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(fail, range(4)))
    with app.app_context():
        assert db.session.get(LoginAttempt, ("ana@example.com", "127.0.0.1")).failures == 4
        assert db.session.get(LoginEmailFailure, "ana@example.com").failures == 4


@pytest.fixture
def checked_passwords(monkeypatch):
    """The passwords auth compared with a hash, each taking long enough (as argon2 does under
    load) for concurrent guesses to overlap."""
    import time

    from services.auth import passwords

    checked = []
    compare = passwords.matches

    def slow_compare(password_hash, password):
        checked.append(password)
        time.sleep(0.2)
        return compare(password_hash, password)

    monkeypatch.setattr(passwords, "matches", slow_compare)
    return checked


def test_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(
    app, client, register, checked_passwords
):
    register()

    def guess():
        return (
            app.test_client()
            .post("/auth/login", json={"email": "ana@example.com", "password": "wrong-one"})
            .status_code
        )

    answers = at_once(app, guess, copies=10)
    assert sorted(answers) == [401] * 5 + [429] * 5
    assert len(checked_passwords) == 5


def test_concurrent_wrong_current_passwords_get_no_more_checks_than_the_limit(
    app, client, register, login, checked_passwords
):
    register()
    headers = auth(login())
    checked_passwords.clear()

    def guess():
        return (
            app.test_client()
            .patch("/auth/me", headers=headers, json={"name": "X", "current_password": "a-guess"})
            .status_code
        )

    answers = at_once(app, guess, copies=10)
    assert sorted(answers) == [422] * 5 + [429] * 5
    assert len(checked_passwords) == 5


def test_right_current_passwords_are_not_counted_as_guesses(client, register, login):
    register()
    headers = auth(login())
    right = {"name": "Ana Maria", "current_password": "s3nha-forte"}
    answers = [client.patch("/auth/me", headers=headers, json=right).status_code for _ in range(7)]
    assert answers == [200] * 7


def from_address(address):
    """Headers of a request nginx forwarded for a client at `address`."""
    return {"X-Forwarded-For": address}


def attempt(client, password, address, email="ana@example.com"):
    return client.post(
        "/auth/login", json={"email": email, "password": password}, headers=from_address(address)
    )


def test_wrong_passwords_from_one_address_do_not_stop_the_owner_at_another(client, register):
    register()
    for _ in range(8):
        attempt(client, "wrong-one", "203.0.113.9")
    assert attempt(client, "s3nha-forte", "198.51.100.7").status_code == 200


def test_wrong_passwords_throttle_the_address_that_sent_them(client, register):
    register()
    answers = [attempt(client, "wrong-one", "203.0.113.9").status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    refused = attempt(client, "s3nha-forte", "203.0.113.9")
    assert refused.status_code == 429 and refused.mimetype == PROBLEM
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_the_block_doubles_with_each_failure_after_it_ends(app, client, register):
    register()
    for _ in range(5):
        attempt(client, "wrong-one", "203.0.113.9")
    with app.app_context():
        # The first block (60 s) has passed; the next failure earns a 120 s one.
        pair = db.session.get(LoginAttempt, ("ana@example.com", "203.0.113.9"))
        pair.last_failure_at -= timedelta(seconds=61)
        db.session.commit()
    assert attempt(client, "wrong-one", "203.0.113.9").status_code == 401
    refused = attempt(client, "wrong-one", "203.0.113.9")
    assert refused.status_code == 429 and 60 < int(refused.headers["Retry-After"]) <= 120


def test_addresses_that_only_failed_long_ago_are_forgotten_but_known_ones_kept(
    app, client, register
):
    register()
    attempt(client, "s3nha-forte", "198.51.100.7")
    attempt(client, "wrong-one", "198.51.100.7")
    attempt(client, "wrong-one", "203.0.113.9")
    with app.app_context():
        db.session.execute(
            db.update(LoginAttempt).values(
                last_failure_at=LoginAttempt.last_failure_at - timedelta(seconds=901)
            )
        )
        db.session.commit()
    attempt(client, "wrong-one", "192.0.2.50")
    with app.app_context():
        sources = db.session.scalars(select(LoginAttempt.source).order_by(LoginAttempt.source))
        assert list(sources) == ["192.0.2.50", "198.51.100.7"]


def test_a_client_sent_forwarded_for_cannot_dodge_the_block(client, register):
    # nginx overwrites X-Forwarded-For with the address it saw; ProxyFix trusts only the last
    # value, so a prefix the client slipped in changes nothing.
    register()
    for n in range(6):
        last = attempt(client, "wrong-one", f"10.0.0.{n}, 203.0.113.9")
    assert last.status_code == 429


def test_many_addresses_are_slowed_on_one_email_but_its_known_address_is_not(app, client, register):
    app.config.update(LOGIN_EMAIL_MAX_FAILURES=10)
    try:
        register()
        assert attempt(client, "s3nha-forte", "198.51.100.7").status_code == 200
        answers = [attempt(client, "wrong-one", f"203.0.113.{n}").status_code for n in range(12)]
        # Ten failures reach the ceiling; then one unknown address per slot, the rest wait.
        assert answers[:11] == [401] * 11 and answers[11] == 429
        assert attempt(client, "s3nha-forte", "192.0.2.50").status_code == 429
        assert attempt(client, "s3nha-forte", "198.51.100.7").status_code == 200
    finally:
        app.config.update(LOGIN_EMAIL_MAX_FAILURES=50)


def test_current_passwords_guessed_with_one_token_from_many_addresses_meet_its_limit(
    client, register, login
):
    register()
    headers = auth(login())

    def guess(address):
        return client.patch(
            "/auth/me",
            headers={**headers, **from_address(address)},
            json={"name": "X", "current_password": "a-guess"},
        )

    # A stolen token, tried from ever new addresses: each is below its own limit, the session not.
    answers = [guess(f"203.0.113.{n}") for n in range(6)]
    assert [answer.status_code for answer in answers] == [422] * 5 + [429]
    # The refusal names what is counted: the session's guesses, not an address's sign-ins.
    assert answers[-1].json["detail"] == (
        "Too many wrong current passwords in this session; try again later"
    )


def test_guesses_at_the_email_from_many_addresses_do_not_stop_its_owner_changing_the_password(
    app, client, register, login
):
    ceiling = {
        key: app.config[key] for key in ("LOGIN_EMAIL_MAX_FAILURES", "LOGIN_EMAIL_SPACING_SECONDS")
    }
    app.config.update(LOGIN_EMAIL_MAX_FAILURES=3, LOGIN_EMAIL_SPACING_SECONDS=600)
    try:
        register()
        headers = auth(attempt(client, "s3nha-forte", "198.51.100.7").json)
        answers = [attempt(client, "wrong-one", f"203.0.113.{n}").status_code for n in range(5)]
        assert answers[-1] == 429
        # The console sends the change from its own address, which never signed in to the email.
        changed = client.patch(
            "/auth/me",
            headers={**headers, **from_address("10.1.2.3")},
            json={"password": "nova-senha-1", "current_password": "s3nha-forte"},
        )
        assert changed.status_code == 200, changed.json
    finally:
        app.config.update(ceiling)


def test_an_unknown_email_past_its_ceiling_answers_like_a_real_one(app, client, register):
    app.config.update(LOGIN_EMAIL_MAX_FAILURES=3)
    try:
        register()
        for email in ("ana@example.com", "ghost@example.com"):
            answers = [
                attempt(client, "wrong-one", f"203.0.113.{n}", email).status_code for n in range(5)
            ]
            assert answers == [401, 401, 401, 401, 429], email
    finally:
        app.config.update(LOGIN_EMAIL_MAX_FAILURES=50)


def test_registration_probes_from_one_address_get_429_after_the_limit(app, client, register):
    register(email="taken@example.com")
    body = {"email": "taken@example.com", "password": "s3nha-forte", "name": "Probe"}
    answers = [
        client.post("/auth/register", json=body, headers=from_address("203.0.113.9"))
        for _ in range(app.config["REGISTER_MAX_ATTEMPTS"] + 1)
    ]
    assert {a.status_code for a in answers[:-1]} == {409}
    assert answers[-1].status_code == 429 and answers[-1].mimetype == PROBLEM
    assert 0 < int(answers[-1].headers["Retry-After"]) <= app.config["REGISTER_WINDOW_SECONDS"]
    other = {"email": "new@example.com", "password": "s3nha-forte", "name": "New"}
    elsewhere = client.post("/auth/register", json=other, headers=from_address("198.51.100.7"))
    assert elsewhere.status_code == 201


def test_registrations_from_an_unthrottled_address_are_not_counted(app, client, register):
    register(email="taken@example.com")
    body = {"email": "taken@example.com", "password": "s3nha-forte", "name": "Probe"}
    app.config.update(REGISTER_UNTHROTTLED_ADDRESSES=frozenset({"192.0.2.1"}))
    try:
        answers = {
            client.post("/auth/register", json=body, headers=from_address("192.0.2.1")).status_code
            for _ in range(app.config["REGISTER_MAX_ATTEMPTS"] + 5)
        }
    finally:
        app.config.update(REGISTER_UNTHROTTLED_ADDRESSES=frozenset())
    assert answers == {409}


# --- /auth/vouched: the console's sign-in and sign-up, throttled per browser ---


def vouched(app, action, body, caller="console"):
    """The console's call: its credential, the browser's address in the body, and the console's
    own address as the connection's (every console call comes from it)."""
    return app.test_client().post(
        f"/auth/vouched/{action}",
        json=body,
        headers=from_service(caller, "auth"),
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )


def vouched_attempt(app, password, address, email="ana@example.com"):
    body = {"email": email, "password": password, "address": address}
    return vouched(app, "login", body)


def test_vouched_sign_ins_are_throttled_per_browser_not_per_console(app, client, register):
    register()
    assert vouched_attempt(app, "s3nha-forte", "198.51.100.7").status_code == 200
    answers = [vouched_attempt(app, "wrong-one", "203.0.113.9").status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    # The browser that guessed is blocked; the owner's, behind the same console, is not.
    assert vouched_attempt(app, "s3nha-forte", "203.0.113.9").status_code == 429
    signed_in = vouched_attempt(app, "s3nha-forte", "198.51.100.7")
    assert signed_in.status_code == 200 and signed_in.json["access_token"]
    with app.app_context():
        assert db.session.get(LoginAttempt, ("ana@example.com", "10.1.2.3")) is None


def test_vouched_sign_ups_are_counted_per_browser(app, client, register):
    register(email="taken@example.com")
    probe = {"email": "taken@example.com", "password": "s3nha-forte", "name": "Probe"}
    answers = [
        vouched(app, "register", {**probe, "address": "203.0.113.9"}).status_code
        for _ in range(app.config["REGISTER_MAX_ATTEMPTS"] + 1)
    ]
    assert set(answers[:-1]) == {409} and answers[-1] == 429
    fresh = {"email": "new@example.com", "password": "s3nha-forte", "name": "New", "address": "::1"}
    made = vouched(app, "register", fresh)
    assert made.status_code == 201 and made.json["role"] == "user"


def test_only_the_console_may_vouch_for_an_address(app, client, register):
    register()
    body = {"email": "ana@example.com", "password": "s3nha-forte", "address": "198.51.100.7"}
    bare = app.test_client().post("/auth/vouched/login", json=body)
    assert bare.status_code == 401 and bare.mimetype == PROBLEM
    for caller in ("gateway", "orders"):
        assert vouched(app, "login", body, caller=caller).status_code == 403, caller
    # Through the gateway the prefix does not exist: robot-tests/suites/gateway.robot, "the
    # console's sign-in door at auth cannot be reached from outside".


def test_a_vouched_sign_in_without_a_readable_address_is_a_422_naming_it(app, client, register):
    register()
    for address in ("", "not-an-address", "999.1.1.1", None):
        body = {"email": "ana@example.com", "password": "s3nha-forte", "address": address}
        answer = vouched(app, "login", body)
        assert answer.status_code == 422 and "address" in answer.json["errors"], address
    missing = vouched(app, "login", {"email": "ana@example.com", "password": "s3nha-forte"})
    assert missing.status_code == 422 and "address" in missing.json["errors"]


# --- refresh rotation and logout ---


def test_refresh_rotates_and_the_spent_token_is_refused(client, register, login):
    register()
    first = login()
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    # Its successor used, the spent token is no retry (test_refresh_retry.py): it is refused.
    third = client.post("/auth/refresh", json={"refresh_token": second.json["refresh_token"]})
    assert third.status_code == 200
    again = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401


def test_reusing_a_refresh_token_revokes_the_whole_family(client, register, login):
    register()
    first = login()
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).json
    third = client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]}).json
    client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    newest = client.post("/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert newest.status_code == 401
    verify = client.get("/auth/verify", headers=auth(third))
    assert verify.status_code == 401


def test_sessions_that_ended_long_ago_are_forgotten_at_the_next_login(app, client, register, login):
    from datetime import UTC, datetime

    from services.auth.models import Session

    register()
    login()
    old = login()
    client.post("/auth/logout", headers=auth(old))
    with app.app_context():
        db.session.execute(
            db.update(Session)
            .where(Session.revoked_at.is_not(None))
            .values(revoked_at=datetime.now(UTC) - timedelta(days=2))
        )
        db.session.commit()
    login()
    with app.app_context():
        sessions = db.session.scalars(select(Session)).all()
    assert len(sessions) == 2 and all(s.revoked_at is None for s in sessions)


def guess_counts(app) -> list[str]:
    """Where ana's guesses are counted: addresses, and `session <id>` for current passwords."""
    with app.app_context():
        sources = db.session.scalars(
            select(LoginAttempt.source)
            .where(LoginAttempt.email == "ana@example.com")
            .order_by(LoginAttempt.source)
        ).all()
        db.session.remove()
    return [source.split()[0] for source in sources]


def edited_once(client, register, login) -> dict:
    """A signed-in account whose session changed its name once (a right current password):
    login_attempts holds the address's row and the session's."""
    register()
    tokens = login()
    edited = client.patch(
        "/auth/me",
        headers=auth(tokens),
        json={"name": "Ana Maria", "current_password": "s3nha-forte"},
    )
    assert edited.status_code == 200
    return tokens


def test_a_forgotten_sessions_count_of_current_password_guesses_goes_with_it(
    app, client, register, login
):
    from datetime import UTC, datetime

    from services.auth.models import Session

    old = edited_once(client, register, login)
    assert guess_counts(app) == ["127.0.0.1", "session"]
    client.post("/auth/logout", headers=auth(old))
    with app.app_context():
        db.session.execute(
            db.update(Session).values(revoked_at=datetime.now(UTC) - timedelta(days=2))
        )
        db.session.commit()
    login()
    assert guess_counts(app) == ["127.0.0.1"]


def test_a_session_still_refreshed_outlives_the_refresh_lifetime_but_a_spent_one_is_forgotten(
    app, client, register, login
):
    """Ana's phone refreshes every 15 minutes; signing in on her laptop on day 8 must not sign it
    out. A session whose refresh tokens have all expired can never be used again: forgotten."""
    from datetime import UTC, datetime

    from services.auth.models import RefreshToken, Session

    register()
    phone = login()
    idle = login()
    eight_days_ago = datetime.now(UTC) - timedelta(days=8)
    with app.app_context():
        db.session.execute(db.update(Session).values(created_at=eight_days_ago))
        idle_sid = jwt.decode(idle["access_token"], options={"verify_signature": False})["sid"]
        db.session.execute(
            db.update(RefreshToken)
            .where(RefreshToken.session_id == idle_sid)
            .values(expires_at=eight_days_ago + timedelta(days=7))
        )
        db.session.commit()
    # The phone's latest refresh: a token valid for seven more days, in its eight-day session.
    refreshed = client.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert refreshed.status_code == 200
    login()
    again = client.post("/auth/refresh", json={"refresh_token": refreshed.json["refresh_token"]})
    assert again.status_code == 200, again.json
    with app.app_context():
        assert db.session.get(Session, idle_sid) is None
        assert db.session.scalar(select(db.func.count()).select_from(Session)) == 2


def test_a_session_refreshed_for_months_keeps_no_expired_refresh_tokens(
    app, client, register, login
):
    """Each refresh adds a token; a session that is never forgotten (it keeps refreshing) would
    otherwise keep a row per refresh forever."""
    from datetime import UTC, datetime

    from services.auth.models import RefreshToken

    register()
    first = login()
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).json
    with app.app_context():
        # The first token, used months ago, expired long since.
        db.session.execute(
            db.update(RefreshToken)
            .where(RefreshToken.used_at.is_not(None))
            .values(expires_at=datetime.now(UTC) - timedelta(days=90))
        )
        db.session.commit()
    third = client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    with app.app_context():
        kept = db.session.scalars(select(RefreshToken)).all()
        assert len(kept) == 2 and all(t.expires_at > datetime.now(UTC) for t in kept)
    again = client.post("/auth/refresh", json={"refresh_token": third.json["refresh_token"]})
    assert again.status_code == 200


def test_an_access_token_cannot_be_used_to_refresh(client, register, login):
    register()
    tokens = login()
    response = client.post("/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert response.status_code == 401


def test_logout_ends_the_session_at_once(client, register, login):
    register()
    tokens = login()
    ended = client.post("/auth/logout", headers=auth(tokens))
    # A 204 has no body, so no media type either (it said application/json).
    assert ended.status_code == 204 and "Content-Type" not in ended.headers
    assert client.get("/auth/verify", headers=auth(tokens)).status_code == 401
    refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


# --- the gateway's verifier ---


def test_verify_answers_who_the_caller_is_in_headers(client, register, login):
    user = register()
    response = client.get("/auth/verify", headers=auth(login()))
    assert response.status_code == 200
    assert response.headers["X-User-Id"] == str(user["id"])
    assert response.headers["X-User-Role"] == "user"
    assert response.headers["X-User-Email"] == "ana@example.com"


def test_verify_signs_its_assertions_without_parsing_the_private_key_again(
    client, register, login, monkeypatch
):
    """The gateway asks verify for every new token: parsing the PEM (and cryptography's RSA key
    check) at each signature was ~40 ms of CPU per verify."""
    register()
    tokens = login()
    assert client.get("/auth/verify", headers=auth(tokens)).status_code == 200
    parsed = []

    def counting(parse):
        def parse_and_count(*args, **kwargs):
            parsed.append(1)
            return parse(*args, **kwargs)

        return parse_and_count

    monkeypatch.setattr(
        jwt.algorithms, "load_pem_private_key", counting(jwt.algorithms.load_pem_private_key)
    )
    monkeypatch.setattr(security, "load_pem_private_key", counting(security.load_pem_private_key))
    for _ in range(3):
        response = client.get("/auth/verify", headers=auth(tokens))
        assert response.status_code == 200 and response.headers[security.ASSERTION_HEADER]
    assert parsed == []


def test_verify_refuses_an_expired_token_and_says_so(client, jwt_keys):
    token = access_token(jwt_keys, expires_in=timedelta(minutes=-5))
    response = client.get("/auth/verify", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["X-Auth-Error"] == "The bearer token has expired"


def test_verify_refuses_tokens_signed_otherwise(client, jwt_keys, register, login):
    register()
    claims = jwt.decode(login()["access_token"], options={"verify_signature": False})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    forged = [
        jwt.encode(claims, other, algorithm="RS256"),
        jwt.encode(claims, None, algorithm="none"),
        _hs256_with_public_key(claims, jwt_keys["JWT_PUBLIC_KEY"]),
    ]
    for token in forged:
        assert client.get("/auth/verify", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        *(pytest.param({name: None}, id=f"without-{name}") for name in security.ISSUED_CLAIMS),
        pytest.param({"aud": "another-service"}, id="for-another-audience"),
    ],
)
def test_verify_refuses_a_token_signed_with_auths_key_unlike_those_it_issues(
    client, jwt_keys, register, login, changes
):
    """Only the key's holder can make one; one without exp would never expire."""
    register()
    claims = jwt.decode(login()["access_token"], options={"verify_signature": False}) | changes
    claims = {name: value for name, value in claims.items() if value is not None}
    token = signed(claims, jwt_keys)
    response = client.get("/auth/verify", headers=bearer(token))
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert client.get("/auth/me", headers=bearer(token)).status_code == 401


def _hs256_with_public_key(claims, public_pem):
    """The algorithm-confusion attack: HMAC keyed with the public key. PyJWT refuses to make
    one, so build it by hand."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem.encode(), head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + b64(signature)).decode()


def test_verify_answers_only_the_gateway_and_the_services(app, register, login):
    register()
    token = auth(login())
    bare = app.test_client()
    refused = bare.get("/auth/verify", headers=token)
    assert refused.status_code == 401 and refused.mimetype == PROBLEM
    assert "service credential" in refused.json["detail"]
    for caller in ("gateway", "products"):
        headers = from_service(caller, "auth", token)
        assert bare.get("/auth/verify", headers=headers).status_code == 200, caller
    wrong = {**token, CREDENTIAL_HEADER: "gateway.not-its-key"}
    assert bare.get("/auth/verify", headers=wrong).status_code == 401
    stranger = bare.get("/auth/verify", headers=from_service("monitoring", "auth", token))
    assert stranger.status_code == 403


def test_verify_without_a_bearer_token_is_401(client):
    assert client.get("/auth/verify").status_code == 401
    assert client.get("/auth/verify", headers={"Authorization": "Basic abc"}).status_code == 401


INVALID_TOKEN = 'Bearer realm="feira", error="invalid_token"'


def test_a_refused_bearer_token_is_told_invalid_token_at_verify_and_at_auths_own_routes(
    client, admin, register, login, jwt_keys
):
    user = register()
    logged_out = login()
    client.post("/auth/logout", headers=auth(logged_out))
    deactivated = login()
    client.patch(f"/auth/users/{user['id']}", headers=auth(admin), json={"active": False})
    refused = {
        "logged out": auth(logged_out),
        "deactivated": auth(deactivated),
        "a refresh token": bearer(deactivated["refresh_token"]),
        "expired": bearer(access_token(jwt_keys, expires_in=timedelta(seconds=-60))),
        "malformed": bearer("not.a.jwt"),
    }
    for reason, headers in refused.items():
        for path in ("/auth/verify", "/auth/me"):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (reason, path)
            assert response.headers["WWW-Authenticate"] == INVALID_TOKEN, (reason, path)


def test_no_bearer_token_or_a_wrong_password_is_told_only_the_scheme(client, register):
    register()
    answers = [
        client.get("/auth/verify"),
        client.get("/auth/verify", headers={"Authorization": "Basic abc"}),
        client.get("/auth/me"),
        client.post("/auth/login", json={"email": "ana@example.com", "password": "nope-nope"}),
    ]
    for response in answers:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="feira"'


# --- the caller's account ---


def test_me_returns_the_callers_account(client, register, login):
    user = register()
    response = client.get("/auth/me", headers=auth(login()))
    assert response.status_code == 200 and response.json["id"] == user["id"]


def test_me_needs_a_token(client):
    response = client.get("/auth/me")
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_patch_me_changes_the_name_with_the_current_password(client, register, login):
    register()
    response = client.patch(
        "/auth/me",
        headers=auth(login()),
        json={"name": "Ana Maria", "current_password": "s3nha-forte"},
    )
    assert response.status_code == 200 and response.json["name"] == "Ana Maria"


def test_patch_me_with_a_wrong_current_password_is_422(client, register, login):
    register()
    response = client.patch(
        "/auth/me", headers=auth(login()), json={"name": "X", "current_password": "not-mine"}
    )
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["current_password"]


def test_wrong_current_passwords_are_throttled_like_sign_ins_so_a_token_cannot_guess_on(
    app, client, register, login
):
    register()
    headers = auth(login())
    answers = [
        client.patch(
            "/auth/me", headers=headers, json={"name": "X", "current_password": f"guess-{n}"}
        ).status_code
        for n in range(6)
    ]
    assert answers == [422] * 5 + [429]
    right = client.patch(
        "/auth/me", headers=headers, json={"name": "X", "current_password": "s3nha-forte"}
    )
    assert right.status_code == 429 and right.mimetype == PROBLEM
    assert int(right.headers["Retry-After"]) > 0
    # Counted per session: the owner's other sessions are not held up; the email counts them all.
    elsewhere = client.patch(
        "/auth/me", headers=auth(login()), json={"name": "Y", "current_password": "s3nha-forte"}
    )
    assert elsewhere.status_code == 200
    with app.app_context():
        assert db.session.get(LoginEmailFailure, "ana@example.com").failures == 5


# The domain in full-width letters, as a phone keyboard may type it (NFKC makes it ASCII).
FULL_WIDTH = "ana@" + "".join(chr(ord(c) + 0xFEE0) for c in "example") + ".com"


@pytest.mark.parametrize("written", [FULL_WIDTH, " ANA@Example.COM ", "ana@example.com"])
def test_a_sign_in_finds_the_address_however_registering_normalised_it(client, register, written):
    register(email=FULL_WIDTH)
    answer = client.post("/auth/login", json={"email": written, "password": "s3nha-forte"})
    assert answer.status_code == 200, answer.json


def test_patch_me_cannot_change_the_email(client, register, login):
    register()
    response = client.patch(
        "/auth/me",
        headers=auth(login()),
        json={"email": "new@example.com", "current_password": "s3nha-forte"},
    )
    assert response.status_code == 422 and "email" in response.json["errors"]


def test_changing_the_password_ends_the_other_sessions(client, register, login):
    register()
    here, elsewhere = login(), login()
    response = client.patch(
        "/auth/me",
        headers=auth(here),
        json={"password": "nova-senha-1", "current_password": "s3nha-forte"},
    )
    assert response.status_code == 200
    assert client.get("/auth/verify", headers=auth(here)).status_code == 200
    assert client.get("/auth/verify", headers=auth(elsewhere)).status_code == 401
    assert login(password="nova-senha-1")


def test_delete_me_removes_the_account(client, register, login):
    register()
    tokens = login()
    assert client.delete("/auth/me", headers=auth(tokens)).status_code == 204
    response = client.post(
        "/auth/login", json={"email": "ana@example.com", "password": "s3nha-forte"}
    )
    assert response.status_code == 401


def test_deleting_the_account_forgets_its_sessions_counts_but_not_its_addresses(
    app, client, register, login
):
    tokens = edited_once(client, register, login)
    assert client.delete("/auth/me", headers=auth(tokens)).status_code == 204
    assert guess_counts(app) == ["127.0.0.1"]


def test_the_last_active_admin_cannot_delete_itself(client, admin):
    response = client.delete("/auth/me", headers=auth(admin))
    assert response.status_code == 409
    assert response.mimetype == PROBLEM


# --- administration ---


def test_a_user_cannot_list_users(client, register, login):
    register()
    response = client.get("/auth/users", headers=auth(login()))
    assert response.status_code == 403 and response.mimetype == PROBLEM


def test_admin_lists_users_with_filters_and_the_page_envelope(client, admin, register):
    for i in range(3):
        register(email=f"u{i}@example.com")
    response = client.get("/auth/users?role=user&per_page=2&sort=email", headers=auth(admin))
    assert response.status_code == 200
    body = response.json
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 2
    assert [u["email"] for u in body["items"]] == ["u0@example.com", "u1@example.com"]
    by_email = client.get("/auth/users?email=U2@example.com", headers=auth(admin)).json
    assert [u["email"] for u in by_email["items"]] == ["u2@example.com"]


def test_unknown_query_parameters_and_sort_fields_are_422(client, admin):
    assert client.get("/auth/users?colour=red", headers=auth(admin)).status_code == 422
    response = client.get("/auth/users?sort=password_hash", headers=auth(admin))
    assert response.status_code == 422 and "sort" in response.json["errors"]
    assert client.get("/auth/users?per_page=101", headers=auth(admin)).status_code == 422


def test_an_over_long_email_filter_is_a_422_naming_it(client, admin):
    response = client.get("/auth/users", query_string={"email": "a" * 255}, headers=auth(admin))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["errors"] == {"email": ["Longer than 254 characters."]}


def test_admin_gets_404_for_an_unknown_user(client, admin):
    response = client.get("/auth/users/999999", headers=auth(admin))
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_a_user_reads_their_own_account_at_the_location_registration_answered(
    client, register, login
):
    created = client.post(
        "/auth/register",
        json={"email": "ana@example.com", "password": "s3nha-forte", "name": "Ana"},
    )
    tokens = login()
    read = client.get(created.headers["Location"], headers=auth(tokens))
    assert read.status_code == 200
    assert read.json == created.json == client.get("/auth/me", headers=auth(tokens)).json


def test_a_user_may_not_read_another_account_nor_learn_whether_an_id_exists(
    client, register, login
):
    other = register(email="bia@example.com")
    register()
    tokens = login()
    for user_id in (other["id"], 999999):
        response = client.get(f"/auth/users/{user_id}", headers=auth(tokens))
        assert response.status_code == 403 and response.mimetype == PROBLEM, user_id


def test_deactivating_a_user_ends_their_sessions_and_logins(client, admin, register, login):
    user = register()
    tokens = login()
    response = client.patch(
        f"/auth/users/{user['id']}", headers=auth(admin), json={"active": False}
    )
    assert response.status_code == 200 and response.json["active"] is False
    assert client.get("/auth/verify", headers=auth(tokens)).status_code == 401
    again = client.post("/auth/login", json={"email": "ana@example.com", "password": "s3nha-forte"})
    assert again.status_code == 401


def test_promoting_a_user_takes_effect_at_the_next_login(client, admin, register, login):
    user = register()
    old = login()
    client.patch(f"/auth/users/{user['id']}", headers=auth(admin), json={"role": "admin"})
    assert client.get("/auth/verify", headers=auth(old)).status_code == 401
    assert client.get("/auth/users", headers=auth(login())).status_code == 200


def test_the_last_active_admin_cannot_be_demoted(client, admin):
    me = client.get("/auth/me", headers=auth(admin)).json
    response = client.patch(f"/auth/users/{me['id']}", headers=auth(admin), json={"role": "user"})
    assert response.status_code == 409


def test_ensure_user_makes_the_monitor_a_plain_user_that_can_sign_in(app, client, monkeypatch):
    monkeypatch.setenv("FEIRA_MONITOR_EMAIL", "Monitor@Feira.local")
    monkeypatch.setenv("FEIRA_MONITOR_PASSWORD", "generated-secret")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["ensure-user", "--role", "user"])
    again = runner.invoke(args=["ensure-user", "--role", "user"])
    assert first.exit_code == again.exit_code == 0, first.output
    assert "created" in first.output and "present" in again.output
    assert "generated-secret" not in first.output
    tokens = client.post(
        "/auth/login", json={"email": "monitor@feira.local", "password": "generated-secret"}
    ).json
    me = client.get("/auth/me", headers=auth(tokens)).json
    assert me["role"] == "user"
    assert client.get("/auth/users", headers=auth(tokens)).status_code == 403


def test_ensure_user_undoes_a_promotion_and_follows_a_new_password(app, client, admin, monkeypatch):
    monkeypatch.setenv("FEIRA_MONITOR_EMAIL", "monitor@feira.local")
    monkeypatch.setenv("FEIRA_MONITOR_PASSWORD", "first-secret")
    runner = app.test_cli_runner()
    runner.invoke(args=["ensure-user"])
    with app.app_context():
        monitor = db.session.scalar(select(User).where(User.email == "monitor@feira.local"))
    client.patch(f"/auth/users/{monitor.id}", json={"role": "admin"}, headers=auth(admin))
    monkeypatch.setenv("FEIRA_MONITOR_PASSWORD", "second-secret")
    assert runner.invoke(args=["ensure-user"]).exit_code == 0
    body = {"email": "monitor@feira.local", "password": "second-secret"}
    tokens = client.post("/auth/login", json=body).json
    assert client.get("/auth/me", headers=auth(tokens)).json["role"] == "user"


def test_ensure_user_finds_its_account_however_the_accent_is_typed(app, client, monkeypatch):
    monkeypatch.setenv("FEIRA_MONITOR_EMAIL", "jose\u0301@example.com")
    monkeypatch.setenv("FEIRA_MONITOR_PASSWORD", "generated-secret")
    runner = app.test_cli_runner()
    assert "created" in runner.invoke(args=["ensure-user"]).output
    monkeypatch.setenv("FEIRA_MONITOR_EMAIL", "jos\u00e9@example.com")
    assert "present" in runner.invoke(args=["ensure-user"]).output
    body = {"email": "jose\u0301@example.com", "password": "generated-secret"}
    assert client.post("/auth/login", json=body).status_code == 200


def test_ensure_user_refuses_without_its_variables(app, monkeypatch):
    monkeypatch.delenv("FEIRA_MONITOR_EMAIL", raising=False)
    monkeypatch.delenv("FEIRA_MONITOR_PASSWORD", raising=False)
    result = app.test_cli_runner().invoke(args=["ensure-user"])
    assert result.exit_code != 0 and "FEIRA_MONITOR_EMAIL" in result.output


# --- keys ---


def test_jwks_publishes_the_key_that_verifies_tokens(client, register, login):
    register()
    token = login()["access_token"]
    jwks = client.get("/auth/.well-known/jwks.json").json
    key = jwt.PyJWK(jwks["keys"][0])
    assert jwks["keys"][0]["kid"] == jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer="feira-auth")
    assert claims["email"] == "ana@example.com"
