"""The RSA key pair auth signs tokens with, generated once per stack (the kit's code, shared with
the test fixtures)."""

from __future__ import annotations

from services.kit.keys import ensure_keypair

__all__ = ["ensure_keypair"]
