"""What auth does: accounts, password checks with throttling, sessions and token rotation."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from jwt import PyJWTError
from jwt.algorithms import RSAAlgorithm
from marshmallow import ValidationError
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert

from services.kit import (
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    precondition,
    utcnow,
)
from services.kit.errors import InvalidToken, PreconditionFailed
from services.kit.fields import Email, normalized_email
from services.kit.security import (
    ASSERTION_TYPE,
    issued_by_auth,
    loaded_private_key,
    loaded_public_keys,
    signing_key_id,
    token_digest,
)

from . import passwords
from .models import (
    LoginAttempt,
    LoginEmailFailure,
    RefreshToken,
    RegistrationAttempt,
    Session,
    User,
    db,
)
from .schemas import UserSchema, check_new_password

BAD_CREDENTIALS = "The email or password is wrong"


def register(email: str, password: str, name: str, role: str = "user") -> User:
    """A new account, once its password is found hard to guess (a 422 naming it): judged after
    the attempt was counted (`count_registration`), as an estimate costs auth real CPU
    (passwords.guessable), so a sender of costly passwords meets the throttle like any other."""
    try:
        check_new_password(password, email, name)
    except ValidationError as refused:
        raise Unprocessable(refused.normalized_messages()) from None
    user = User(email=email.lower(), name=name, password_hash=passwords.hashed(password), role=role)
    db.session.add(user)
    db.session.commit()
    return user


def count_registration(source: str) -> None:
    """Count a registration attempt from `source`, committed before the account is tried (a 409
    counts too), and refuse it past REGISTER_MAX_ATTEMPTS in the window: a taken email answers
    409, so unthrottled probes would list who has an account. Addresses listed in
    REGISTER_UNTHROTTLED_ADDRESSES (the one a test suite registers its hundreds of accounts from)
    are not counted."""
    if source in current_app.config["REGISTER_UNTHROTTLED_ADDRESSES"]:
        return
    now = utcnow()
    window = timedelta(seconds=current_app.config["REGISTER_WINDOW_SECONDS"])
    expired = RegistrationAttempt.window_started_at < now - window
    stmt = insert(RegistrationAttempt).values(source=source, attempts=1, window_started_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RegistrationAttempt.source],
        set_={
            "attempts": case((expired, 1), else_=RegistrationAttempt.attempts + 1),
            "window_started_at": case((expired, now), else_=RegistrationAttempt.window_started_at),
        },
    ).returning(RegistrationAttempt.attempts, RegistrationAttempt.window_started_at)
    attempts, started = db.session.execute(stmt).one()
    db.session.commit()
    if attempts > current_app.config["REGISTER_MAX_ATTEMPTS"]:
        raise TooManyRequests(
            "Too many registrations from this address; try again later",
            retry_after=_seconds_until(started + window, now),
        )


@dataclass(frozen=True)
class Checked:
    """An account as it was when a sign-in's password matched it: a session is started only if it
    is still so (`start_session`)."""

    user_id: int
    password_hash: str
    role: str


def authenticate(email: str, password: str, source: str) -> Checked:
    """The active user with these credentials, throttled per (email, source address) and, for
    addresses that never signed in to it, per email: existing or not, the answers are the same.

    OWASP's Authentication Cheat Sheet: a lockout per account lets anyone lock its owner out.
    Here a source address that keeps guessing is blocked for a time that doubles with each
    failure past LOGIN_MAX_FAILURES; the email's own ceiling only spaces out guesses from unknown
    addresses, and an address that signed in to it before is never held up by it."""
    email = normalized_email(email)
    if len(email) > Email.MAX:
        # Longer than any account's address ("İ" lower-cases to two characters), and longer than
        # the counters' column: no account to guess at, so nothing to count (it dodges nothing).
        raise Unauthorized(BAD_CREDENTIALS)
    now = utcnow()
    _count_guess(email, source, now)
    user = db.session.scalar(select(User).where(User.email == email))
    matches = passwords.matches(user.password_hash if user else None, password)
    if user is None or not matches or not user.active:
        _record_failure(email, source, now)
        raise Unauthorized(BAD_CREDENTIALS)
    checked = Checked(user.id, user.password_hash, user.role)
    if passwords.needs_rehash(checked.password_hash):
        checked = _rehashed(checked, password)
    # The email's counter stays: the owner signing in must not give an attacker fresh guesses.
    stmt = insert(LoginAttempt).values(email=email, source=source, failures=0, last_success_at=now)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=[LoginAttempt.email, LoginAttempt.source],
            set_={"failures": 0, "last_failure_at": None, "last_success_at": now},
        )
    )
    db.session.commit()
    return checked


def _rehashed(checked: Checked, password: str) -> Checked:
    """The password hashed again with today's parameters, stored only over the hash it was
    checked against: a password changed meanwhile is not overwritten with this (the old) one.
    When another sign-in rehashed it first, the stored hash is checked once more (rare: two
    sign-ins of one account at the moment its hash gets stronger), so that sign-in still works."""
    fresh = passwords.hashed(password)
    stored = db.session.execute(
        update(User)
        .where(User.id == checked.user_id, User.password_hash == checked.password_hash)
        .values(password_hash=fresh)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).first()
    if stored is not None:
        return replace(checked, password_hash=fresh)
    current = db.session.scalar(select(User.password_hash).where(User.id == checked.user_id))
    if current is not None and passwords.matches(current, password):
        return replace(checked, password_hash=current)
    # Changed to another password meanwhile: `start_session` refuses this sign-in.
    return checked


def _count_guess(email: str, source: str, now: datetime, spaced_by_email: bool = True) -> None:
    """Count a password guess for (email, source) before it is checked, or refuse it (429) while
    that address is blocked or the email's ceiling has no slot for it.

    The pair's row is locked from the decision to the count, so concurrent guesses are counted
    one after another and the LOGIN_MAX_FAILURES-th blocks those still waiting: checking the
    count first and counting once argon2 said no let every guess sent together through. The lock
    is let go (committed) before the password is checked, so it holds up only that address's
    guesses at that email, and only for the time of a few statements, never argon2's.

    The row is created or locked in one statement (an upsert whose no-op update locks the row it
    returns): inserting it and then selecting it FOR UPDATE left a moment when a cleanup
    (`_record_failure`'s, a forgotten session's) could delete it, and the guess found no row.

    `spaced_by_email=False`: the email's ceiling does not apply (a signed-in session's guesses,
    `update_me`, counted per session instead)."""
    stmt = insert(LoginAttempt).values(email=email, source=source, failures=0)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginAttempt.email, LoginAttempt.source],
        set_={"failures": LoginAttempt.failures},
    ).returning(LoginAttempt)
    pair = db.session.scalar(stmt, execution_options={"populate_existing": True})
    _refuse_while_blocked(
        pair,
        now,
        "Too many failed logins from this address; try again later"
        if spaced_by_email
        else "Too many wrong current passwords in this session; try again later",
    )
    if spaced_by_email and not _known(pair, now):
        _take_email_slot(email, now)
    idle = pair.last_failure_at is None or pair.last_failure_at < now - _window()
    pair.failures = 1 if idle else pair.failures + 1
    pair.last_failure_at = now
    db.session.commit()


def _known(pair: LoginAttempt | None, now: datetime) -> bool:
    """An address that signed in to this email within LOGIN_KNOWN_DAYS: never held up by the
    email's own ceiling."""
    return (
        pair is not None
        and pair.last_success_at is not None
        and pair.last_success_at > now - timedelta(days=current_app.config["LOGIN_KNOWN_DAYS"])
    )


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds()) + 1)


def blocked_until(pair: LoginAttempt | None) -> datetime | None:
    """When this address may try this email again: LOGIN_BLOCK_SECONDS after its
    LOGIN_MAX_FAILURES-th failure, doubling with each further one, never beyond the window."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if pair is None or pair.last_failure_at is None or pair.failures < limit:
        return None
    block = current_app.config["LOGIN_BLOCK_SECONDS"] * 2 ** min(pair.failures - limit, 20)
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    return pair.last_failure_at + timedelta(seconds=min(block, window))


def _refuse_while_blocked(pair: LoginAttempt | None, now: datetime, detail: str) -> None:
    until = blocked_until(pair)
    if until is not None and until > now:
        db.session.rollback()
        raise TooManyRequests(detail, retry_after=_seconds_until(until, now))


def _take_email_slot(email: str, now: datetime) -> None:
    """Past the email's ceiling, an unknown address gets an attempt only when the email's next
    slot is due, and takes it in one UPDATE, so concurrent guessers cannot share a slot. The
    caller commits it with the guess's count."""
    row = db.session.get(LoginEmailFailure, email)
    if row is None or row.window_started_at < now - _window():
        return
    if row.failures < current_app.config["LOGIN_EMAIL_MAX_FAILURES"]:
        return
    spacing = timedelta(seconds=current_app.config["LOGIN_EMAIL_SPACING_SECONDS"])
    taken = db.session.execute(
        update(LoginEmailFailure)
        .where(
            LoginEmailFailure.email == email,
            (LoginEmailFailure.next_attempt_at.is_(None))
            | (LoginEmailFailure.next_attempt_at <= now),
        )
        .values(next_attempt_at=now + spacing)
        .returning(LoginEmailFailure.email)
    ).first()
    if taken is None:
        db.session.rollback()
        due = db.session.get(LoginEmailFailure, email)
        retry = _seconds_until(due.next_attempt_at, now) if due and due.next_attempt_at else 1
        db.session.rollback()
        raise TooManyRequests(
            "Too many failed logins for this account; try again later", retry_after=retry
        )


def _record_failure(email: str, source: str, now: datetime) -> None:
    """Count the failure for the email, atomically: concurrent wrong guesses all count (the pair
    counted the guess before it was checked, `_count_guess`)."""
    # The email's addresses that only ever failed, and not within the window, are forgotten
    # here (found by the primary key's email prefix): guesses from ever new addresses leave no
    # more rows than one window's worth.
    db.session.execute(
        db.delete(LoginAttempt).where(
            LoginAttempt.email == email,
            LoginAttempt.source != source,
            LoginAttempt.last_success_at.is_(None),
            LoginAttempt.last_failure_at < now - _window(),
        )
    )
    expired = LoginEmailFailure.window_started_at < now - _window()
    total = insert(LoginEmailFailure).values(email=email, failures=1, window_started_at=now)
    db.session.execute(
        total.on_conflict_do_update(
            index_elements=[LoginEmailFailure.email],
            set_={
                "failures": case((expired, 1), else_=LoginEmailFailure.failures + 1),
                "window_started_at": case(
                    (expired, now), else_=LoginEmailFailure.window_started_at
                ),
                "next_attempt_at": case((expired, None), else_=LoginEmailFailure.next_attempt_at),
            },
        )
    )
    db.session.commit()


def key_id() -> str:
    """The current signing key's RFC 7638 thumbprint: the `kid` in the headers of the tokens and
    session assertions auth signs, and one of the JWKS' keys."""
    return signing_key_id(current_app.config["JWT_PRIVATE_KEY"])


def ensure_signing_key_published(private_pem: str, public_bundle: str) -> None:
    """auth starts only if the bundle every service verifies with holds its current key's public
    half: else every token it signed would be refused everywhere."""
    kid = signing_key_id(private_pem)
    if kid not in loaded_public_keys(public_bundle):
        raise RuntimeError(
            "JWT_PUBLIC_KEY_FILE (or JWT_PUBLIC_KEY) does not hold the public half of"
            f" JWT_PRIVATE_KEY_FILE (kid {kid}): every token auth signed would be refused; add it"
            " to the bundle (python -m stack rotate-keys does) before auth signs with it"
        )


def jwks() -> dict:
    """Every key of the bundle, so a client verifying offline follows a rotation."""
    keys = []
    for kid, key in loaded_public_keys(current_app.config["JWT_PUBLIC_KEY"]).items():
        jwk = json.loads(RSAAlgorithm.to_jwk(key))
        jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
        keys.append(jwk)
    return {"keys": keys}


def start_session(checked: Checked) -> dict:
    """A session for the account a sign-in checked, if it is still as it was checked: its row is
    locked (FOR SHARE) until the session is stored, so a password change, a new role or a
    deactivation either waits for the session and then revokes it, or is seen here and the sign-in
    is refused as a wrong password is. argon2 ran before, with nothing locked: a change made
    meanwhile revoked only the sessions that existed then."""
    user = db.session.scalar(
        select(User)
        .where(User.id == checked.user_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    unchanged = user is not None and Checked(user.id, user.password_hash, user.role) == checked
    if not unchanged or not user.active:
        db.session.rollback()
        raise Unauthorized(BAD_CREDENTIALS)
    _forget_dead_sessions(user)
    session = Session(user_id=user.id)
    db.session.add(session)
    db.session.flush()
    pair = _issue_pair(user, session)
    db.session.commit()
    return pair


def _forget_dead_sessions(user: User) -> None:
    """A user's sessions that ended a day ago, or hold no refresh token still valid, are deleted
    at their next login (their tokens go with them), so an account that logs in all day, like the
    monitoring journey, keeps a bounded number of rows. A session's age is no reason: each
    rotation gives it a new REFRESH_TOKEN_DAYS, and a phone refreshing every 15 minutes stays
    signed in however old its session is (README promises no absolute session lifetime). Their
    counts of current_password guesses go too: no token of theirs is accepted any more."""
    now = utcnow()
    refreshable = (
        select(RefreshToken.jti)
        .where(RefreshToken.session_id == Session.id, RefreshToken.expires_at > now)
        .exists()
    )
    forgotten = db.session.scalars(
        db.delete(Session)
        .where(
            Session.user_id == user.id,
            (Session.revoked_at < now - timedelta(days=1)) | ~refreshable,
        )
        .returning(Session.id)
    ).all()
    if forgotten:
        db.session.execute(
            db.delete(LoginAttempt).where(
                LoginAttempt.email == user.email,
                LoginAttempt.source.in_([_session_guesser(sid) for sid in forgotten]),
            )
        )


def _session_guesser(session_id: str) -> str:
    """Where a session's current_password guesses are counted (`login_attempts.source`, beside
    the addresses a sign-in is counted under)."""
    return f"session {session_id}"


def _issue_pair(user: User, session: Session, replacing: RefreshToken | None = None) -> dict:
    """A new access and refresh token of `session`; the refresh token is stored, and named as
    the successor of `replacing`, the token it was traded for."""
    identity = str(user.id)
    headers = {"kid": key_id()}
    access = create_access_token(
        identity,
        additional_claims={"role": user.role, "email": user.email, "sid": session.id},
        additional_headers=headers,
    )
    refresh = create_refresh_token(
        identity, additional_claims={"sid": session.id}, additional_headers=headers
    )
    claims = decode_token(refresh)
    db.session.add(
        RefreshToken(
            jti=claims["jti"],
            session_id=session.id,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    )
    if replacing is not None:
        replacing.replaced_by = claims["jti"]
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


def rotate(refresh_token: str) -> dict:
    """Trade a refresh token for a new pair: the token is spent and names its successor. A spent
    token presented again is a reuse (RFC 9700, the OAuth 2.0 Security BCP: one of its holders
    stole it), which revokes its whole session, unless it is a retry (`_superseded_by_retry`): a
    client whose answer was lost sends the same token again, and gets a new pair in place of the
    one it never received. Everything is decided under the rows' locks, in one transaction."""
    try:
        claims = decode_token(refresh_token)
    except PyJWTError as exc:
        raise Unauthorized("The refresh token is invalid or expired") from exc
    if not issued_by_auth(claims):
        raise Unauthorized("The refresh token is invalid or expired")
    if claims.get("type") != "refresh":
        raise Unauthorized("A refresh token is required")
    token = db.session.scalar(
        select(RefreshToken).where(RefreshToken.jti == claims["jti"]).with_for_update()
    )
    if token is None or token.session.revoked_at is not None:
        raise Unauthorized("The refresh token is invalid or expired")
    user = token.session.user
    now = utcnow()
    if token.used_at is not None:
        superseded = _superseded_by_retry(token, user, now)
        if superseded is None:
            revoke(token.session, "refresh-token-reuse")
            db.session.commit()
            raise Unauthorized("The refresh token was already used; the session has been revoked")
        # Spent, with no successor: whoever presents it later is taken for a thief (a reuse).
        superseded.used_at = now
    elif not user.active:
        raise Unauthorized("The refresh token is invalid or expired")
    else:
        token.used_at = now
    # The session's expired tokens go: one can no longer be presented (its `exp` is past), so it
    # can neither be used nor show a reuse. A session refreshed for months keeps only its last
    # REFRESH_TOKEN_DAYS of rotations, not a row per refresh forever.
    db.session.execute(
        db.delete(RefreshToken).where(
            RefreshToken.session_id == token.session_id, RefreshToken.expires_at < now
        )
    )
    pair = _issue_pair(user, token.session, replacing=token)
    db.session.commit()
    return pair


def _superseded_by_retry(token: RefreshToken, user: User, now: datetime) -> RefreshToken | None:
    """The successor of spent `token` (locked, FOR UPDATE) when presenting `token` again is a
    retry: `token` was used at most REFRESH_REUSE_GRACE_S ago (its first use: retries never
    stretch it), its successor was never used and has not expired, and the user is active (the
    session is not revoked: `rotate` checked). None when it is a reuse.

    The successor's lock is taken before deciding, so its use and a retry of `token` sent
    together are decided one after the other: the second sees it used, and revokes the session.
    Locks go from a token to its successor, so two such requests queue rather than deadlock."""
    grace = current_app.config["REFRESH_REUSE_GRACE_S"]
    if grace <= 0 or token.replaced_by is None or not user.active:
        return None
    if token.used_at < now - timedelta(seconds=grace):
        return None
    successor = db.session.scalar(
        select(RefreshToken)
        .where(RefreshToken.jti == token.replaced_by, RefreshToken.session_id == token.session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if successor is None or successor.used_at is not None or successor.expires_at <= now:
        return None
    return successor


def revoke(session: Session, reason: str) -> None:
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoked_reason = reason


def revoke_user_sessions(user_id: int, reason: str, keep: str | None = None) -> None:
    stmt = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(Session.id != keep)
    db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))


def logout(session_id: str | None) -> None:
    session = db.session.get(Session, session_id) if session_id else None
    if session is not None:
        revoke(session, "logout")
        db.session.commit()


def verified_caller(token: str) -> User:
    """For the gateway: the token's signature, expiry, session and user are all still good."""
    try:
        claims = decode_token(token)
    except PyJWTError as exc:
        expired = exc.__class__.__name__ == "ExpiredSignatureError"
        raise InvalidToken(
            "The bearer token has expired" if expired else "The bearer token is invalid"
        ) from exc
    if not issued_by_auth(claims):
        raise InvalidToken("The bearer token is invalid")
    if claims.get("type") != "access":
        raise InvalidToken("An access token is required")
    row = db.session.execute(
        select(User, Session.revoked_at)
        .join(Session, Session.user_id == User.id)
        .where(Session.id == claims.get("sid"), User.id == int(claims["sub"]))
    ).first()
    if row is None or row.revoked_at is not None:
        raise InvalidToken("The bearer token has been revoked")
    if not row.User.active:
        raise InvalidToken("The account is deactivated")
    return row.User


def session_assertion(token: str) -> str:
    """auth's signed word that this token's session was live just now, for the gateway to pass
    upstream: a service that gets it fresh need not ask again (kit.security.SessionCheck)."""
    now = int(time.time())
    lifetime = current_app.config["SESSION_CHECK_SECONDS"]
    claims = {
        "type": ASSERTION_TYPE,
        "tok": token_digest(token),
        "iat": now,
        "exp": now + lifetime + 1,
        "iss": current_app.config["JWT_ISSUER"],
    }
    # The key parsed once per process: given the PEM, PyJWT parses it (and cryptography checks
    # the RSA key) at every call, tens of milliseconds of CPU on each verify the gateway asks.
    key = loaded_private_key(current_app.config["JWT_PRIVATE_KEY"])
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id()})


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist")
    return user


def update_me(user: User, session_id: str | None, data: dict, source: str) -> User:
    """`current_password` is a guess like a sign-in's, counted with the same limits, but per
    session (the token's `sid`) rather than per address: a stolen token cannot be used to try
    passwords without end, from however many addresses, and an attack on the email from elsewhere
    (its ceiling) never holds up the owner's change, which the console sends from its own address,
    an address no sign-in made known to the email. The failures still count on the email.

    If-Match is checked twice: on the account as read, before `current_password` is checked or
    counted (a stale tag tells the caller nothing about the password, and costs no guess), and
    under the row's lock, where two changes sent with one tag cannot both pass."""
    now = utcnow()
    email, checked = user.email, user.password_hash
    if "password" in data:
        try:
            check_new_password(data["password"], email, user.name, data.get("name"))
        except ValidationError as refused:
            # Said before current_password is checked (or counted): it tells the caller nothing.
            raise Unprocessable(refused.normalized_messages()) from None
    precondition(user, UserSchema)
    guesser = _session_guesser(session_id) if session_id else source
    _count_guess(email, guesser, now, spaced_by_email=session_id is None)
    if not passwords.matches(checked, data["current_password"]):
        _record_failure(email, guesser, now)
        raise _wrong_current_password()
    user = _still_as_checked(user.id, checked, session_id)
    # A right guess is no failure: its count is taken back (a sign-in clears them all instead).
    db.session.execute(
        update(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.source == guesser)
        .values(failures=func.greatest(LoginAttempt.failures - 1, 0))
    )
    try:
        precondition(user, UserSchema)
    except PreconditionFailed:
        # Changed since the tag's read, in argon2's time: the count is still taken back (the
        # password was right), and nothing of the change is written.
        db.session.commit()
        raise
    if "name" in data:
        user.name = data["name"]
    if "password" in data:
        user.password_hash = passwords.hashed(data["password"])
        revoke_user_sessions(user.id, "password-changed", keep=session_id)
    db.session.commit()
    return user


def _wrong_current_password() -> Unprocessable:
    return Unprocessable({"current_password": ["Does not match the current password."]})


def _still_as_checked(user_id: int, checked_hash: str, session_id: str | None) -> User:
    """The account, locked (FOR UPDATE) until the change is stored, if it still has the password
    argon2 checked and is active: else a password changed in argon2's time would be overwritten
    with this one, and the session that changed it revoked. Refused as a wrong current password;
    the guess stays counted. A session revoked meanwhile (a role change, a logout) changes
    nothing either: 401, as its next request would get."""
    user = db.session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None or not user.active or user.password_hash != checked_hash:
        db.session.rollback()
        raise _wrong_current_password()
    if session_id is not None:
        revoked = db.session.scalar(
            select(Session.revoked_at.is_not(None)).where(Session.id == session_id)
        )
        if revoked is not False:
            db.session.rollback()
            raise InvalidToken("The bearer token has been revoked")
    return user


def _lock_active_admins() -> list[User]:
    """Row locks on every active admin, so two demotions cannot both pass the last-admin check,
    taken in id order, so two transactions taking them queue rather than deadlock.

    The lock order of a write to an account that may remove an admin (`administer`,
    `delete_me`): these first, then the account's own row (`_locked_account`), which for an admin
    is one of these already. Taking the account's row first would let two demotions of two
    admins each hold its own and wait for the other's among the admins: a deadlock, which
    PostgreSQL breaks by aborting one (a 503)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == "admin", User.active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
    )


def _locked_account(user_id: int) -> User:
    """The account read afresh under its row's lock (FOR UPDATE) until the write commits, with
    If-Match checked on it as it is now (`precondition`): of two writes sent with one tag, the
    second finds the first's change. A 404 when it is gone."""
    user = db.session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None:
        db.session.rollback()
        raise NotFound(f"User {user_id} does not exist")
    precondition(user, UserSchema)
    return user


def _others(admins: list[User], user: User) -> bool:
    """Whether an active admin besides `user` is among the locked ones: they stay admins until
    this transaction ends, so `user` may go."""
    return any(admin.id != user.id for admin in admins)


def delete_me(user_id: int) -> None:
    """The caller's account goes. The admins are locked first whoever deletes (see
    `_lock_active_admins`): whether the account is an admin is known only once its row is
    locked, and a promotion landing in between must not leave the last admin deletable."""
    admins = _lock_active_admins()
    user = _locked_account(user_id)
    if user.role == "admin" and user.active and not _others(admins, user):
        db.session.rollback()
        raise Conflict("The last active admin cannot delete itself")
    # Its sessions go with it, and so do their counts of guesses; its addresses' counts stay, as
    # for an email no account has.
    db.session.execute(
        db.delete(LoginAttempt).where(
            LoginAttempt.email == user.email,
            LoginAttempt.source.startswith(_session_guesser("")),
        )
    )
    db.session.delete(user)
    db.session.commit()


def administer(user_id: int, changes: dict) -> User:
    """An admin's change of an account's role or standing, under its row's lock (If-Match is
    checked there). A change that could take an admin away (a role other than admin, or
    `active: false`) locks the active admins first, whatever the account is: it is known only
    once its row is locked, after them (`_lock_active_admins`)."""
    demoting = changes.get("role", "admin") != "admin" or changes.get("active") is False
    admins = _lock_active_admins() if demoting else []
    user = _locked_account(user_id)
    if demoting and user.role == "admin" and user.active and not _others(admins, user):
        db.session.rollback()
        raise Conflict("The last active admin cannot be demoted or deactivated")
    role_changed = changes.get("role", user.role) != user.role
    deactivated = changes.get("active", user.active) is False and user.active
    user.update(changes)
    if role_changed or deactivated:
        # Tokens carry the role; ending the sessions makes a new role or a ban take effect now.
        revoke_user_sessions(user.id, "deactivated" if deactivated else "role-changed")
    db.session.commit()
    return user


def ensure_admin(email: str, password: str, name: str = "Administrator") -> tuple[User, str]:
    """The first admin, from the environment, and what became of it, said for the deploy's log.

    An account that already holds the email is made an active admin only if its password is this
    one and no other active admin exists: else whoever registered that email first would be made
    admin at the next deploy, and an admin demoting or deactivating it would be undone by every
    `make up`. An active admin is left alone, its password too (changed through the API, it
    stays)."""
    email = normalized_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        return register(email, password, name, role="admin"), "created"
    if user.role == "admin" and user.active:
        return user, "already present"
    standing = f"left as it is ({user.role}, {'active' if user.active else 'deactivated'})"
    if _lock_active_admins():
        db.session.rollback()
        return user, f"{standing}: an active admin exists, and decides who else is one"
    if not passwords.matches(user.password_hash, password):
        db.session.rollback()
        return user, f"{standing}: its password is not FEIRA_ADMIN_PASSWORD"
    user.role, user.active = "admin", True
    # Tokens carry the role: sessions started as a plain user end, as an admin's promotion does.
    revoke_user_sessions(user.id, "role-changed")
    db.session.commit()
    return user, "made an active admin: its password is FEIRA_ADMIN_PASSWORD, no admin was active"


def ensure_user(email: str, password: str, role: str, name: str) -> tuple[User, bool]:
    """An account the stack itself uses (the monitor), from the environment, with exactly `role`
    and this password: both are the stack's to decide, so drift (a promotion, a reset) is undone
    and a changed password ends the old sessions."""
    email = normalized_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        return register(email, password, name, role=role), True
    if user.role != role or not user.active:
        user.role, user.active = role, True
        revoke_user_sessions(user.id, "role-changed")
    if not passwords.matches(user.password_hash, password):
        user.password_hash = passwords.hashed(password)
        revoke_user_sessions(user.id, "password-changed")
    db.session.commit()
    return user, False
