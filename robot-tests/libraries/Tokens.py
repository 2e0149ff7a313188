"""Mints JWTs for the suites: copies of real access tokens, honest (the stack's key) or forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from robot.api.deco import keyword, library


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(value: dict) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


@library(scope="GLOBAL", auto_keywords=False)
class Tokens:
    """Every keyword takes the claims of a real access token (``Access claims like``) so that a
    forged token differs from a good one only in what the test is about."""

    @keyword("Claims of token")
    def claims_of_token(self, token: str) -> dict:
        """The payload of ``token``, read without checking its signature."""
        return jwt.decode(token, options={"verify_signature": False})

    @keyword("Header of token")
    def header_of_token(self, token: str) -> dict:
        """The JOSE header of ``token`` (``alg``, ``kid``, ``typ``)."""
        return jwt.get_unverified_header(token)

    @keyword("Access claims like")
    def access_claims_like(self, token: str, expires_in: int = 900) -> dict:
        """The claims of ``token`` with a new ``jti`` and a lifetime ending ``expires_in`` seconds
        from now; a negative value gives a token that has already expired."""
        claims = self.claims_of_token(token)
        now = int(time.time())
        issued = min(now, now + expires_in - 900)
        claims.update(jti=str(uuid.uuid4()), iat=issued, nbf=issued, exp=now + expires_in)
        return claims

    @keyword("Sign with the key file")
    def sign_with_the_key_file(self, claims: dict, private_key_file: str, kid: str = "") -> str:
        """RS256 with the PEM private key in ``private_key_file``, as auth itself signs."""
        headers = {"kid": kid} if kid else None
        key = Path(private_key_file).read_bytes()
        return jwt.encode(claims, key, algorithm="RS256", headers=headers)

    @keyword("Sign with a new RSA key")
    def sign_with_a_new_rsa_key(self, claims: dict, kid: str = "") -> str:
        """RS256 with a key generated here, which the stack has never seen."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        headers = {"kid": kid} if kid else None
        return jwt.encode(claims, key, algorithm="RS256", headers=headers)

    @keyword("Leave unsigned")
    def leave_unsigned(self, claims: dict, kid: str = "") -> str:
        """``alg: none`` and an empty signature."""
        header = {"alg": "none", "typ": "JWT", **({"kid": kid} if kid else {})}
        return f"{_segment(header)}.{_segment(claims)}."

    @keyword("Sign with HS256 using the public key")
    def sign_with_hs256_using_the_public_key(
        self, claims: dict, public_key_file: str, kid: str = ""
    ) -> str:
        """HS256 whose HMAC secret is the verifier's public key PEM: the algorithm-confusion
        attack. Built by hand because PyJWT rightly refuses a PEM as an HMAC secret."""
        header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
        signing_input = f"{_segment(header)}.{_segment(claims)}"
        secret = Path(public_key_file).read_bytes()
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"
