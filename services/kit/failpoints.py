"""Test-only crash points: `failpoint(name)` does nothing unless the app's `FAILPOINTS` config
names it; then the request dies there, as if its worker were killed."""

from __future__ import annotations

from flask import current_app


class Crash(BaseException):
    """A BaseException, so no `except Exception` on the way up answers it or cleans up after
    it: the request ends with no answer, and its open transaction is rolled back, like a
    `kill -9` would leave it."""


def failpoint(name: str) -> None:
    if name in current_app.config.get("FAILPOINTS", ()):
        raise Crash(name)
