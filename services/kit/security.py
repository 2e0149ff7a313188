"""Bearer tokens: RS256 verification, the session still live as auth says, the role guard."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt as pyjwt
from cachetools import TTLCache
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from flask import Flask, current_app, g, request
from flask_jwt_extended import JWTManager, get_jwt, verify_jwt_in_request
from itsdangerous import BadSignature, TimestampSigner

from services.registry import internal_callers

from .errors import (
    CHALLENGE,
    REFUSED_CHALLENGE,
    Forbidden,
    InvalidToken,
    Unauthorized,
    Unavailable,
    problem_response,
)
from .keys import public_pems, thumbprint
from .settings import env

jwt = JWTManager()
log = logging.getLogger("feira.security")
ROLES = ("admin", "user")
# auth's signed word that it verified a token's session just now; the gateway passes it on.
ASSERTION_HEADER = "X-Auth-Assertion"
ASSERTION_TYPE = "session-verified"


@dataclass(frozen=True)
class Caller:
    id: int
    role: str
    email: str
    session_id: str | None


def init_jwt(app: Flask) -> None:
    if not app.config.get("JWT_PUBLIC_KEY"):
        raise RuntimeError(
            "JWT_PUBLIC_KEY_FILE (or JWT_PUBLIC_KEY) must point at auth's public key"
        )
    # Parsed now: a bundle holding no key stops the start, not the first request.
    loaded_public_keys(app.config["JWT_PUBLIC_KEY"])
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
    app.wsgi_app = _scheme_in_any_case(app.wsgi_app)
    # Off only in tests that forge tokens without an auth to ask (kit.testing.build_app).
    app.config.setdefault("SESSION_CHECK", True)
    app.config.setdefault("SESSION_CHECK_SECONDS", env("SESSION_CHECK_SECONDS", 5, int))
    app.config.setdefault("SESSION_CHECK_CACHE_SIZE", env("SESSION_CHECK_CACHE_SIZE", 10000, int))
    app.extensions["feira.sessions"] = SessionCheck(app)
    app.extensions["feira.tokens"] = VerifiedTokens(app)
    app.config.setdefault("SERVICE_KEYS", service_keys_from_env())


def _scheme_in_any_case(wsgi_app):
    """`bearer`, `BEARER`...: the scheme is case-insensitive (RFC 9110 11.1), as the gateway's
    verifier reads it; flask-jwt-extended wants `Bearer` exactly, so it is given that."""

    def app(environ, start_response):
        scheme, space, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if space and scheme != "Bearer" and scheme.lower() == "bearer":
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return wsgi_app(environ, start_response)

    return app


def token_digest(token: str) -> str:
    """What an assertion and the verdict cache name a token by: never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionCheck:
    """Whether a bearer token's session is still live (not logged out, its user not deactivated
    or demoted), as auth said at most SESSION_CHECK_SECONDS ago: the bound the gateway's verify
    cache keeps, so a service refuses a revoked token as soon as the gateway does.

    Through the gateway this costs nothing: auth's verify answer carries a short-lived assertion
    signed with its RS256 key and bound to the token's digest, which nginx passes on. A request
    without a fresh one (straight to the service's port) is checked by asking auth's verifier,
    and the answer, good or bad, is kept per token for the same few seconds in a bounded cache.
    """

    def __init__(self, app: Flask):
        self.seconds = app.config["SESSION_CHECK_SECONDS"]
        self._verdicts: TTLCache = TTLCache(
            maxsize=app.config["SESSION_CHECK_CACHE_SIZE"], ttl=self.seconds
        )
        # Assertions whose signature checked out, by their text: nginx passes the same one on
        # for as long as it keeps auth's answer, and the RS256 check need not be done again.
        # Only the signature is remembered; the times are checked at every use.
        self._assertions: TTLCache = TTLCache(
            maxsize=app.config["SESSION_CHECK_CACHE_SIZE"], ttl=self.seconds + 1
        )
        self._lock = threading.Lock()
        # auth sets this: it answers from its own database rather than asking itself over HTTP.
        self.local: Callable[[str], object] | None = None

    def ensure_live(self, token: str) -> None:
        if self.local is not None:
            self.local(token)
            return
        digest = token_digest(token)
        if self._asserted(digest):
            return
        with self._lock:
            known = digest in self._verdicts
            verdict = self._verdicts.get(digest)
        if not known:
            verdict = self._ask_auth(token)
            with self._lock:
                self._verdicts[digest] = verdict
        if verdict is not None:
            raise InvalidToken(verdict)

    def _asserted(self, digest: str) -> bool:
        raw = request.headers.get(ASSERTION_HEADER)
        if not raw:
            return False
        with self._lock:
            claims = self._assertions.get(raw)
        if claims is None:
            try:
                claims = pyjwt.decode(
                    raw,
                    verification_key(pyjwt.get_unverified_header(raw)),
                    algorithms=["RS256"],
                    issuer=current_app.config["JWT_ISSUER"],
                    options={"require": ["exp", "iat", "iss"]},
                )
            except pyjwt.PyJWTError:
                return False  # stale or foreign: ask auth instead
            with self._lock:
                self._assertions[raw] = claims
        now = time.time()
        return (
            claims.get("type") == ASSERTION_TYPE
            and hmac.compare_digest(str(claims.get("tok", "")), digest)
            # A second for the request to travel from the gateway, no more.
            and claims["iat"] >= now - self.seconds - 1
            # PyJWT checked it when it verified the signature; a remembered one is checked here.
            and claims["exp"] > now
        )

    def _ask_auth(self, token: str) -> str | None:
        """None when auth says the session is live, else why not (a 401's detail)."""
        from .httpclient import service

        try:
            client = service("auth")
        except RuntimeError as exc:
            log.error("cannot check sessions: AUTH_URL is not configured")
            raise Unavailable("The auth service is unavailable") from exc
        response = client.get(
            "/auth/verify", forward_auth=False, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code == 200:
            return None
        if response.status_code == 401:
            return response.headers.get("X-Auth-Error") or "The bearer token has been revoked"
        log.warning("auth's verifier answered %s", response.status_code)
        raise Unavailable("The auth service could not verify the token")


def _bearer_token() -> str:
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip()


def _unauthorized(detail: str):
    return problem_response(
        401,
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": REFUSED_CHALLENGE},
    )


class UnknownKey(pyjwt.InvalidTokenError):
    """A token whose header names no `kid`, or one of no key this service holds."""


@lru_cache(maxsize=4)
def loaded_public_keys(bundle: str) -> dict[str, Any]:
    """Every public key of the bundle (JWT_PUBLIC_KEY: one PEM, or several while a signing key is
    rotated), by its kid, parsed once per process: given the text, PyJWT parses it at every
    verification, about a tenth of a simple GET's time."""
    keys = {}
    for pem in public_pems(bundle):
        key = load_pem_public_key(pem.encode())
        keys[thumbprint(key)] = key
    if not keys:
        raise RuntimeError("JWT_PUBLIC_KEY_FILE (or JWT_PUBLIC_KEY) holds no PEM public key")
    return keys


def verification_key(header: dict):
    """The configured public key the token's header names by `kid`: a token signed before a
    rotation is checked with the key that signed it, one naming no key we hold is refused."""
    kid = header.get("kid")
    key = loaded_public_keys(current_app.config["JWT_PUBLIC_KEY"]).get(kid) if kid else None
    if key is None:
        raise UnknownKey("The token names no signing key this service holds")
    return key


@lru_cache(maxsize=4)
def loaded_private_key(pem: str):
    """auth's signing key, parsed once per process (as the public keys are)."""
    return load_pem_private_key(pem.encode(), password=None)


@lru_cache(maxsize=4)
def signing_key_id(private_pem: str) -> str:
    """The `kid` a signing key is named by (its public half's RFC 7638 thumbprint), once per key
    and process: every token and session assertion auth signs names it."""
    return thumbprint(loaded_private_key(private_pem).public_key())


@jwt.decode_key_loader
def _decode_key(header, payload):
    return verification_key(header)


@jwt.encode_key_loader
def _encode_key(identity):
    pem = current_app.config.get("JWT_PRIVATE_KEY")
    # None as before for a service that signs nothing: flask-jwt-extended then says so.
    return loaded_private_key(pem) if pem else pem


# What auth puts in every token it signs, access and refresh alike (iss, the other, PyJWT checks
# itself). flask-jwt-extended checks exp only when present and ignores an aud unless told one:
# a token without a lifetime, or made for another audience, is none of auth's.
ISSUED_CLAIMS = ("sub", "sid", "jti", "iat", "nbf", "exp")


def issued_by_auth(claims: dict) -> bool:
    """Whether a token whose signature checked out holds the claims auth issues, and no audience
    (auth names none)."""
    return all(claims.get(name) is not None for name in ISSUED_CLAIMS) and "aud" not in claims


@jwt.token_verification_loader
def _issued_by_auth(header, payload) -> bool:
    return issued_by_auth(payload)


@jwt.unauthorized_loader
def _missing_token(reason: str):
    return problem_response(
        401,
        "Unauthorized",
        "A bearer token is required",
        headers={"WWW-Authenticate": CHALLENGE},
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


class VerifiedTokens:
    """Tokens whose RS256 signature and claims checked out, by their digest, with what they
    claim: a client sends the same token for minutes, and verifying it again (three parses, the
    signature) was a tenth of a plain GET's CPU. Only a good token is kept, for at most
    `seconds`; its expiry is checked at every use, and an expired one goes back to
    flask-jwt-extended, which refuses it as it always has. Whether its session is still live is
    never remembered here (`SessionCheck` asks at every request)."""

    def __init__(self, app: Flask):
        self._claims: TTLCache = TTLCache(
            maxsize=app.config["SESSION_CHECK_CACHE_SIZE"],
            ttl=app.config.setdefault("VERIFIED_TOKEN_SECONDS", 60),
        )
        self._leeway = app.config["JWT_DECODE_LEEWAY"]
        self._lock = threading.Lock()

    def claims(self) -> dict:
        header = request.headers.get("Authorization", "")
        digest = token_digest(header) if header else None
        if digest is not None:
            with self._lock:
                known = self._claims.get(digest)
            if known is not None and known["exp"] + self._leeway > time.time():
                return known
        verify_jwt_in_request()
        claims = get_jwt()
        if digest is not None and isinstance(claims.get("exp"), int | float):
            with self._lock:
                self._claims[digest] = claims
        return claims


def require_caller(*roles: str) -> Caller:
    """Verify the bearer token and, when roles are given, that the caller holds one of them."""
    claims = current_app.extensions["feira.tokens"].claims()
    if claims.get("type") != "access":
        raise InvalidToken("An access token is required")
    try:
        caller = Caller(
            id=int(claims["sub"]),
            role=str(claims["role"]),
            email=str(claims.get("email", "")),
            session_id=claims.get("sid"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("The bearer token is missing required claims") from exc
    if caller.role not in ROLES:
        raise InvalidToken("The bearer token carries an unknown role")
    # Before the role: a demoted admin's token still says admin until it expires.
    if current_app.config["SESSION_CHECK"]:
        current_app.extensions["feira.sessions"].ensure_live(_bearer_token())
    if roles and caller.role not in roles:
        raise Forbidden(f"This action needs the role: {' or '.join(roles)}")
    g.caller = caller
    return caller


def current_caller() -> Caller:
    caller = g.get("caller")
    if caller is None:
        raise Unauthorized("A bearer token is required")
    return caller


# --- service credentials: internal routes answer only the services the registry names ---

CREDENTIAL_HEADER = "X-Service-Credential"
# Long enough for a retried call, short enough that a copied credential soon expires.
CREDENTIAL_MAX_AGE = 30
# How far ahead of the receiver's clock a credential may be dated: two hosts' clocks are never
# exactly together, and both round down to whole seconds, so a caller a few ms ahead dates a call
# that straddles a second boundary 1 s in the receiver's future. The same 5 s as the bearer tokens'
# JWT_DECODE_LEEWAY; the 30 s age is still counted by the receiver's clock.
CREDENTIAL_CLOCK_SKEW = 5
# Callers that cannot sign (nginx has no HMAC): they present `<name>.<key>` itself, from their
# rendered configuration, over loopback only.
STATIC_CALLERS = frozenset({"gateway"})
# What a refused credential says: a caller tells its own refusal from the route's by these.
CREDENTIAL_NEEDED = "This route is for other Feira services: a service credential is needed"
CREDENTIAL_REFUSED = "The service credential does not match its caller's key"
# Well signed, but dated outside the receiver's window: the two clocks differ, not the keys.
CREDENTIAL_OUT_OF_TIME = "The service credential is too old, or dated ahead of this service's clock"
CALLER_REFUSED = "This route does not answer that service"
CREDENTIAL_PROBLEMS = frozenset(
    {CREDENTIAL_NEEDED, CREDENTIAL_REFUSED, CREDENTIAL_OUT_OF_TIME, CALLER_REFUSED}
)


def _signer(key: str, receiver: str) -> TimestampSigner:
    # The receiver is in the salt: a credential made for inventory is worthless at auth.
    return TimestampSigner(key, salt=f"feira-service-credential:{receiver}")


def sign_credential(key: str, caller: str, receiver: str) -> str:
    """`caller`'s credential for a call to `receiver`: its name, timestamped and signed."""
    return _signer(key, receiver).sign(caller).decode()


def service_keys_from_env() -> dict[str, str]:
    """`<NAME>_SERVICE_KEY` variables: a service's own key (to sign its calls) and its allowed
    callers' (to check theirs); the stack gives each process no others."""
    suffix = "_SERVICE_KEY"
    return {
        name[: -len(suffix)].lower(): value
        for name, value in os.environ.items()
        if name.endswith(suffix) and value
    }


def service_credential(receiver: str) -> str | None:
    """This service's credential for a call to `receiver`: its name, signed with its own key and
    timestamped (itsdangerous). None when it holds no key of its own."""
    me = current_app.config["SERVICE_NAME"]
    key = current_app.config["SERVICE_KEYS"].get(me)
    if not key:
        return None
    return sign_credential(key, me, receiver)


def require_service_caller() -> str:
    """The calling service, if its credential is good and the registry lets it call this route;
    else a 401 (no credential, or a bad or expired one: a user's token is not one) or a 403."""
    me = current_app.config["SERVICE_NAME"]
    allowed = next(
        (
            callers
            for prefix, callers in internal_callers(me).items()
            if request.path == prefix or request.path.startswith(prefix + "/")
        ),
        (),
    )
    raw = request.headers.get(CREDENTIAL_HEADER, "")
    if not raw:
        raise Unauthorized(CREDENTIAL_NEEDED)
    caller = raw.split(".", 1)[0]
    key = current_app.config["SERVICE_KEYS"].get(caller)
    if caller not in allowed or not key:
        raise Forbidden(CALLER_REFUSED)
    if caller in STATIC_CALLERS:
        if not hmac.compare_digest(raw.encode(), f"{caller}.{key}".encode()):
            raise Unauthorized(CREDENTIAL_REFUSED)
        g.service_caller = caller
        return caller
    signer = _signer(key, me)
    try:
        # The age is checked below: itsdangerous' max_age also refuses any date in the future.
        signed, signed_at = signer.unsign(raw, return_timestamp=True)
    except BadSignature as exc:
        raise Unauthorized(CREDENTIAL_REFUSED) from exc
    if signed.decode() != caller:
        raise Unauthorized(CREDENTIAL_REFUSED)
    age = signer.get_timestamp() - int(signed_at.timestamp())
    if not -CREDENTIAL_CLOCK_SKEW <= age <= CREDENTIAL_MAX_AGE:
        raise Unauthorized(CREDENTIAL_OUT_OF_TIME)
    g.service_caller = caller
    return caller
