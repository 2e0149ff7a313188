"""Sessions: before sign-in, Flask's signed cookie (the CSRF token, a flash: no row for anyone who
merely opens a page); from sign-in, a row in the console's schema, the browser holding only an
opaque random id in the same HttpOnly cookie; sign-in rotates it; the user's API tokens live in
the row (encrypted), are refreshed under the row's lock and die with it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature
from sqlalchemy import delete, select, update
from werkzeug.datastructures import CallbackDict

from services.kit.security import verification_key

from .models import ConsoleSession, db

# Over TLS the cookie carries the `__Host-` prefix: the browser then takes it only if Secure, for
# path / and no domain, so no sibling host can plant one.
SECURE_COOKIE = "__Host-feira_console"
PLAIN_COOKIE = "feira_console"


class SignedOut(Exception):
    """The session is gone (expired, logged out, or auth refused its refresh token)."""


def now() -> datetime:
    return datetime.now(UTC)


def digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def fernet(app: Flask) -> Fernet:
    key = hashlib.sha256(b"feira-console-tokens:" + app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str) -> str:
    return fernet(current_app).encrypt(value.encode()).decode()


def unseal(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return fernet(current_app).decrypt(value.encode()).decode()
    except InvalidToken:
        return None


class ServerSession(CallbackDict, SessionMixin):
    """Flask's session, with who is signed in read from the row."""

    def __init__(self, initial: dict | None = None, sid: str | None = None, row=None):
        def on_update(this):
            this.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.persisted = row is not None
        self.modified = False
        self.cookie_needed = False
        self.ended = False
        self.user: dict[str, Any] | None = None
        # The row's sealed access token and its expiry, as read when the request began: a page
        # uses it without reading the row again, unless it must be refreshed.
        self.sealed_access: tuple[str | None, datetime | None] = (None, None)
        if row is not None and row.user_id is not None:
            self.sealed_access = (row.access_token, row.access_expires_at)
            self.user = {
                "id": row.user_id,
                "role": row.role,
                "email": row.email,
                "name": row.name,
            }

    @property
    def is_admin(self) -> bool:
        return bool(self.user and self.user["role"] == "admin")


def cookie_name() -> str:
    return SECURE_COOKIE if request.is_secure else PLAIN_COOKIE


class DatabaseSessionInterface(SecureCookieSessionInterface):
    """A signed-in browser's cookie names its row; an anonymous one's is Flask's signed cookie."""

    salt = "feira-console-anonymous"

    def open_session(self, app: Flask, request) -> ServerSession:
        if request.path.startswith("/console/assets/") or not request.path.startswith("/console"):
            return ServerSession()
        value = request.cookies.get(cookie_name(), "")
        row = None
        # An id is 43 characters: a longer value is no row's (the signed cookie, or junk).
        if value and len(value) <= 100:
            row = db.session.scalar(
                select(ConsoleSession).where(
                    ConsoleSession.id == digest(value), ConsoleSession.expires_at > now()
                )
            )
            db.session.commit()
        if row is not None:
            return ServerSession(dict(row.data or {}), sid=value, row=row)
        return ServerSession(self.anonymous_data(app, value))

    def anonymous_data(self, app: Flask, value: str) -> dict:
        """What the signed cookie holds, unless it is forged, stale or no signed cookie at all."""
        serializer = self.get_signing_serializer(app)
        if not value or serializer is None:
            return {}
        try:
            return serializer.loads(
                value, max_age=int(app.config["CONSOLE_ANONYMOUS_HOURS"] * 3600)
            )
        except BadSignature:
            return {}

    @staticmethod
    def form_shown(app: Flask) -> bool:
        """This response renders a form's CSRF token: Flask-WTF keeps the one it made in `g`."""
        return app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g

    def save_session(self, app: Flask, session: ServerSession, response) -> None:
        secure = request.is_secure
        path = "/" if secure else "/console"
        if session.ended or (not session.persisted and session.modified and not session):
            response.delete_cookie(cookie_name(), path=path, secure=secure, samesite="Lax")
            return
        value = None
        if session.persisted:
            if session.modified:
                db.session.execute(
                    update(ConsoleSession)
                    .where(ConsoleSession.id == digest(session.sid))
                    .values(data=dict(session))
                )
                db.session.commit()
            if session.cookie_needed:
                value = session.sid
        elif session.modified or (session and self.form_shown(app)):
            # Signed again with each form it shows: the form's token then lasts
            # CONSOLE_ANONYMOUS_HOURS from the page it is sent from, not from the first one.
            value = self.get_signing_serializer(app).dumps(dict(session))
        if value:
            response.set_cookie(
                cookie_name(), value, path=path, httponly=True, secure=secure, samesite="Lax"
            )
        response.vary.add("Cookie")


def create(session: ServerSession, data: dict, *, hours: float, **user) -> None:
    """A new row under a new random id (the old one, if any, is deleted: sign-in rotates it)."""
    if session.persisted and session.sid:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.id == digest(session.sid)))
    db.session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now()))
    session.sid = secrets.token_urlsafe(32)
    db.session.add(
        ConsoleSession(
            id=digest(session.sid),
            data=data,
            expires_at=now() + timedelta(hours=hours),
            **user,
        )
    )
    db.session.commit()
    session.persisted = True
    session.cookie_needed = True
    session.modified = False


def claims(access_token: str) -> dict:
    """The access token's claims, checked with the auth public key its `kid` names (its role
    decides the pages)."""
    return jwt.decode(
        access_token,
        verification_key(jwt.get_unverified_header(access_token)),
        algorithms=["RS256"],
        issuer=current_app.config["JWT_ISSUER"],
        leeway=5,
        options={"verify_exp": False},
    )


def token_fields(tokens: dict) -> dict:
    found = claims(tokens["access_token"])
    return {
        "user_id": int(found["sub"]),
        "role": found["role"],
        "email": found.get("email"),
        "access_token": seal(tokens["access_token"]),
        "refresh_token": seal(tokens["refresh_token"]),
        "access_expires_at": datetime.fromtimestamp(found["exp"], UTC),
    }


def sign_in(session: ServerSession, tokens: dict, name: str | None) -> None:
    """Keep the tokens in a new session row, under a new id (no fixation: the id the browser had
    before signing in is dead), with a fresh CSRF token to come."""
    data = {key: value for key, value in session.items() if key != "csrf_token"}
    fields = token_fields(tokens)
    create(
        session,
        data,
        hours=current_app.config["CONSOLE_SESSION_HOURS"],
        name=name,
        **fields,
    )
    session.clear()
    session.update(data)
    session.modified = False
    session.user = {
        "id": fields["user_id"],
        "role": fields["role"],
        "email": fields["email"],
        "name": name,
    }
    session.sealed_access = (fields["access_token"], fields["access_expires_at"])


def rename(session: ServerSession, name: str | None) -> None:
    """The user's name as auth now has it, kept in the row: every page's header reads it there."""
    db.session.execute(
        update(ConsoleSession).where(ConsoleSession.id == digest(session.sid)).values(name=name)
    )
    db.session.commit()
    session.user["name"] = name


def end(session: ServerSession) -> None:
    """The row is deleted and the browser told to forget the cookie."""
    if session.sid:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.id == digest(session.sid)))
        db.session.commit()
    session.clear()
    session.ended = True
    session.user = None


def access_token(session: ServerSession) -> str:
    """The session's access token, refreshed first when it is about to expire."""
    sealed, expires_at = session.sealed_access
    if not session.sid or sealed is None:
        raise SignedOut
    margin = timedelta(seconds=current_app.config["CONSOLE_REFRESH_MARGIN_S"])
    if expires_at and expires_at - margin > now():
        token = unseal(sealed)
        if token:
            return token
    return refresh(session, used=None)


def refresh(session: ServerSession, used: str | None) -> str:
    """A new token pair from auth, under the row's lock: two requests of one browser never both
    spend the refresh token (auth would see a reuse and end the whole session). `used` is the
    access token a 401 answered; if another request has refreshed meanwhile, its token is used."""
    from . import api

    row = db.session.scalar(
        select(ConsoleSession)
        .where(ConsoleSession.id == digest(session.sid or ""))
        .with_for_update()
    )
    if row is None:
        db.session.rollback()
        raise SignedOut
    current = unseal(row.access_token)
    margin = timedelta(seconds=current_app.config["CONSOLE_REFRESH_MARGIN_S"])
    fresh = row.access_expires_at and row.access_expires_at - margin > now()
    if current and fresh and current != used:
        session.sealed_access = (row.access_token, row.access_expires_at)
        db.session.commit()
        return current
    refresh_token = unseal(row.refresh_token)
    answer = api.refresh_tokens(refresh_token) if refresh_token else None
    if answer is None:
        db.session.delete(row)
        db.session.commit()
        session.clear()
        session.ended = True
        session.user = None
        raise SignedOut
    fields = token_fields(answer)
    for key, value in fields.items():
        setattr(row, key, value)
    db.session.commit()
    session.sealed_access = (fields["access_token"], fields["access_expires_at"])
    if session.user is not None:
        session.user["role"] = fields["role"]
    return answer["access_token"]
