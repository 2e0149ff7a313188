"""Bearer tokens: RS256 verification with flask-jwt-extended, the caller, and the role guard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, g
from flask_jwt_extended import JWTManager, get_jwt, verify_jwt_in_request

from .errors import Forbidden, Unauthorized, problem_response

jwt = JWTManager()
ROLES = ("admin", "user")


@dataclass(frozen=True)
class Caller:
    id: int
    role: str
    email: str
    session_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def init_jwt(app: Flask) -> None:
    if not app.config.get("JWT_PUBLIC_KEY"):
        raise RuntimeError(
            "JWT_PUBLIC_KEY_FILE (or JWT_PUBLIC_KEY) must point at auth's public key"
        )
    app.config.setdefault("JWT_ALGORITHM", "RS256")
    # Pinned: a token signed with any other algorithm (HS256 with the public key, none) is refused.
    app.config["JWT_DECODE_ALGORITHMS"] = ["RS256"]
    app.config.setdefault("JWT_TOKEN_LOCATION", ["headers"])
    app.config.setdefault("JWT_ACCESS_TOKEN_EXPIRES", timedelta(minutes=15))
    app.config.setdefault("JWT_ENCODE_ISSUER", app.config["JWT_ISSUER"])
    app.config.setdefault("JWT_DECODE_ISSUER", app.config["JWT_ISSUER"])
    app.config.setdefault("JWT_DECODE_LEEWAY", 5)
    app.config.setdefault("JWT_CSRF_IN_COOKIES", False)
    app.config.setdefault("JWT_COOKIE_CSRF_PROTECT", False)
    jwt.init_app(app)


def _unauthorized(detail: str):
    return problem_response(
        401,
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="feira", error="invalid_token"'},
    )


@jwt.unauthorized_loader
def _missing_token(reason: str):
    return problem_response(
        401,
        "Unauthorized",
        "A bearer token is required",
        headers={"WWW-Authenticate": 'Bearer realm="feira"'},
    )


@jwt.invalid_token_loader
def _invalid_token(reason: str):
    return _unauthorized("The bearer token is invalid")


@jwt.expired_token_loader
def _expired_token(header, payload):
    return _unauthorized("The bearer token has expired")


@jwt.revoked_token_loader
def _revoked_token(header, payload):
    return _unauthorized("The bearer token has been revoked")


@jwt.token_verification_failed_loader
def _failed_claims(header, payload):
    return _unauthorized("The bearer token is invalid")


@jwt.user_lookup_error_loader
def _unknown_user(header, payload):
    return _unauthorized("The bearer token's user no longer exists")


def require_caller(*roles: str) -> Caller:
    """Verify the bearer token and, when roles are given, that the caller holds one of them."""
    verify_jwt_in_request()
    claims = get_jwt()
    if claims.get("type") != "access":
        raise Unauthorized("An access token is required")
    try:
        caller = Caller(
            id=int(claims["sub"]),
            role=str(claims["role"]),
            email=str(claims.get("email", "")),
            session_id=claims.get("sid"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("The bearer token is missing required claims") from exc
    if caller.role not in ROLES:
        raise Unauthorized("The bearer token carries an unknown role")
    if roles and caller.role not in roles:
        raise Forbidden(f"This action needs the role: {' or '.join(roles)}")
    g.caller = caller
    return caller


def current_caller() -> Caller:
    caller = g.get("caller")
    if caller is None:
        raise Unauthorized("A bearer token is required")
    return caller
