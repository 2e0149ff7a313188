"""Password hashing: argon2id at the app's parameters, never below OWASP's minimum; and how
easily a new password would be guessed (zxcvbn)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

# Imported here, so its lists (common passwords, dictionaries, names) load once per process, with
# the app (about 65 ms), rather than in the first registration's request.
import zxcvbn
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

from services.kit.settings import env

# OWASP's Password Storage Cheat Sheet: argon2id with one of these (memory in KiB, iterations)
# at parallelism 1, or more of both; they cost about the same.
OWASP_MINIMUMS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


def settings() -> dict[str, int]:
    """argon2-cffi's default profile (RFC 9106's low-memory one: 64 MiB, 3 iterations, 4 lanes)
    unless the environment names others; the test stacks use OWASP's 19 MiB, 2 iterations."""
    return {
        "ARGON2_MEMORY_KIB": env("ARGON2_MEMORY_KIB", 65536, int),
        "ARGON2_TIME_COST": env("ARGON2_TIME_COST", 3, int),
        "ARGON2_PARALLELISM": env("ARGON2_PARALLELISM", 4, int),
    }


def init_app(app: Flask) -> None:
    """The app's hasher, and a hash of its own to check unknown emails against, so both answers
    take as long. Parameters under OWASP's minimum stop the app from starting."""
    memory = app.config["ARGON2_MEMORY_KIB"]
    time_cost = app.config["ARGON2_TIME_COST"]
    lanes = app.config["ARGON2_PARALLELISM"]
    if lanes < 1 or not any(memory >= m and time_cost >= t for m, t in OWASP_MINIMUMS):
        raise RuntimeError(
            f"ARGON2_MEMORY_KIB={memory}, ARGON2_TIME_COST={time_cost} and "
            f"ARGON2_PARALLELISM={lanes} are under OWASP's minimum for argon2id "
            "(19456 KiB and 2 iterations, or another pair of its table; at least 1 lane)"
        )
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory, parallelism=lanes)
    app.extensions["feira.passwords"] = (hasher, hasher.hash("feira-timing-equaliser"))


def _hasher() -> PasswordHasher:
    return current_app.extensions["feira.passwords"][0]


def hashed(password: str) -> str:
    return _hasher().hash(password)


def matches(password_hash: str | None, password: str) -> bool:
    """Whether the password is the hash's; with no hash (an unknown email), the app's own is
    checked instead, so the answer takes as long, and it is False."""
    hasher, dummy = current_app.extensions["feira.passwords"]
    try:
        same = hasher.verify(dummy if password_hash is None else password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return same and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Made with other parameters than the app's (weaker, or stronger since lowered)."""
    return _hasher().check_needs_rehash(password_hash)


# zxcvbn's score 2 and up: more than about a million guesses (NIST SP 800-63B 3.1.1.2, OWASP ASVS
# 2.1.7: refuse common, expected or breached passwords).
LEAST_SCORE = 2
# A password is judged by its first 16 characters, enough to tell a common one or a close variant.
# zxcvbn's cost grows with the length and with how many of its l33t characters (@4(<[{3!|17+0$5%2)
# a password mixes: 72 of them took 3.1 s on the 2-core machine, 24 took 0.31 s, 16 took 0.08 s,
# and the estimates take turns (below), so a longer cut let anyone stall auth with a few
# registrations. Past 72 zxcvbn raises (its max_length).
ESTIMATED_LENGTH = 16
# zxcvbn keeps a call's user_inputs in a dictionary of its module, shared by every thread of a
# gunicorn gthread worker: one estimate at a time, or another request's inputs would be used.
_estimating = threading.Lock()
_WORDS = re.compile(r"[\W_]+")


def guessable(password: str, known: Iterable[str | None]) -> bool:
    """Whether the password is common, close to a common one (P@ssw0rd, senha123), or built
    from what an attacker knows of the account (`known`: its e-mail, name) or of the shop."""
    inputs = ["feira"]
    for text in filter(None, known):
        # The whole and its words: "Ana Souza" makes AnaSouza a guess, ana.souza@… Souza2024.
        inputs += [text, *_WORDS.split(text)]
    # Each once, in order: zxcvbn ranks an input by its place, a repeat only further down.
    inputs = list(dict.fromkeys(word.lower() for word in inputs if word))
    with _estimating:
        score = zxcvbn.zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=inputs)["score"]
    return score < LEAST_SCORE
