"""Settings read from the environment (12-factor); every key is listed in .env.example."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from services.registry import NAMES as SERVICE_NAMES


def env(name: str, default: Any = None, cast=str) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if cast is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return cast(raw)


def read_key(name: str) -> str | None:
    """A PEM key given inline (`NAME`) or as a file path (`NAME_FILE`)."""
    inline = env(name)
    if inline:
        return inline.replace("\\n", "\n")
    path = env(f"{name}_FILE")
    return Path(path).read_text() if path else None


def base_config(service: str) -> dict[str, Any]:
    """Flask config shared by every service, before the service's own keys and test overrides."""
    return {
        "SERVICE_NAME": service,
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL"),
        "SQLALCHEMY_ENGINE_OPTIONS": {
            # No pre-ping: its SELECT 1 was a round trip on every checkout, a quarter of a simple
            # GET's time. A connection Postgres cut (a restart) is seen at checkout from its
            # socket instead (db.py) and the pool's connections from before are replaced;
            # recycling bounds how stale a kept connection can get.
            "pool_recycle": env("DB_POOL_RECYCLE", 1800, int),
            # Statement parameters (a CPF, a password hash) never reach an exception or a log.
            "hide_parameters": True,
            "pool_size": env("DB_POOL_SIZE", 5, int),
            "max_overflow": env("DB_POOL_OVERFLOW", 5, int),
            "pool_timeout": env("DB_POOL_TIMEOUT", 5, float),
            "connect_args": {"connect_timeout": env("DB_CONNECT_TIMEOUT", 3, int)},
        },
        "JWT_PUBLIC_KEY": read_key("JWT_PUBLIC_KEY"),
        "JWT_PRIVATE_KEY": read_key("JWT_PRIVATE_KEY"),
        "JWT_ISSUER": env("JWT_ISSUER", "feira-auth"),
        "LOG_LEVEL": env("LOG_LEVEL", "INFO"),
        "SENTRY_DSN": env("SENTRY_DSN"),
        "MAX_CONTENT_LENGTH": env("MAX_BODY_BYTES", 1024 * 1024, int),
        "HTTP_CONNECT_TIMEOUT": env("HTTP_CONNECT_TIMEOUT", 0.5, float),
        "HTTP_READ_TIMEOUT": env("HTTP_READ_TIMEOUT", 3.0, float),
        "HTTP_RETRIES": env("HTTP_RETRIES", 2, int),
        # `NAME_URLS` (every copy, comma-separated, when the stack runs SCALE > 1) else NAME_URL.
        "SERVICE_URLS": {
            name: env(f"{name.upper()}_URLS") or env(f"{name.upper()}_URL")
            for name in SERVICE_NAMES
            if env(f"{name.upper()}_URLS") or env(f"{name.upper()}_URL")
        },
        "PROBLEM_TYPE_BASE": env("PROBLEM_TYPE_BASE", "https://feira.dev/problems/"),
    }
