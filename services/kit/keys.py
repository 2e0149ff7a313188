"""The RSA key pairs auth signs tokens with: generated once per stack and once per test session,
rotated by `python -m stack rotate-keys`, and the public bundle every service verifies with.

In the kit, so the test support makes keys the way `make up` does without importing the stack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

PUBLIC_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def public_pems(bundle: str) -> list[str]:
    """Each PEM public key of a bundle (one or more `BEGIN PUBLIC KEY` blocks), in its order."""
    return [match + "\n" for match in PUBLIC_PEM.findall(bundle)]


def thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638 thumbprint: the `kid` auth puts in token headers and the JWKS."""
    jwk = json.loads(RSAAlgorithm.to_jwk(public_key))
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_pem(public_key: rsa.RSAPublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def ensure_keypair(private_path: Path, public_path: Path) -> bool:
    """Create the pair when absent; returns whether it was created."""
    if private_path.exists() and public_path.exists():
        return False
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(private_path, key)
    public_path.write_text(public_pem(key.public_key()))
    return True


def rotate_keypair(private_path: Path, public_path: Path) -> tuple[str, str | None]:
    """A new pair made current: the private key replaced, and the public bundle holding the new
    key and the one it replaces (tokens signed before stay good until they expire); keys older
    than that are dropped. Returns the new kid and the kept one's (None when there was no pair)."""
    if ensure_keypair(private_path, public_path):
        return thumbprint(_private(private_path).public_key()), None
    previous = _private(private_path).public_key()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # The bundle first: were this stopped in between, it would still hold the current key.
    replace_file(public_path, public_pem(key.public_key()) + public_pem(previous), 0o644)
    _write_private(private_path, key)
    return thumbprint(key.public_key()), thumbprint(previous)


def _private(path: Path) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _write_private(path: Path, key: rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    replace_file(path, pem.decode(), 0o600)


def replace_file(path: Path, text: str, mode: int) -> None:
    """`text` into `path` at once (a rename), created with `mode`: a private key, or a file of
    secrets, is never readable by others, not even for an instant."""
    scratch = path.with_name(f".{path.name}.new")
    scratch.unlink(missing_ok=True)
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(scratch, mode)  # whatever the umask took away
    os.replace(scratch, path)
