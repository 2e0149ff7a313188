"""The RSA key pair auth signs tokens with, generated once per stack and rotated on demand (the
kit's code, shared with the test fixtures)."""

from __future__ import annotations

from services.kit.keys import ensure_keypair, rotate_keypair

__all__ = ["ensure_keypair", "rotate_keypair"]
