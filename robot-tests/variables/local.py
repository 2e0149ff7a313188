"""Robot variables for a stack on this machine, read from the stack's own settings.

`FEIRA_ENV_FILE=stack/test.env` makes them point at the test stack (gateway on 18080),
exactly as it does for `python -m stack`.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from stack.config import StackConfig
except ImportError:  # the project is not pip-installed: import it from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from stack.config import StackConfig

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "BASE_URL",
    "JWT_PRIVATE_KEY_FILE",
    "JWT_PUBLIC_KEY_FILE",
    "LOGIN_BURST",
    "LOGIN_MAX_FAILURES",
]

_cfg = StackConfig.load()

BASE_URL = _cfg.gateway_url
ADMIN_EMAIL = _cfg.get("FEIRA_ADMIN_EMAIL")
ADMIN_PASSWORD = _cfg.get("FEIRA_ADMIN_PASSWORD")
# Only on the machine that runs the stack: tests that need them are tagged `local-only`.
JWT_PRIVATE_KEY_FILE = str(_cfg.private_key_path)
JWT_PUBLIC_KEY_FILE = str(_cfg.public_key_path)
# The gateway's per-address burst on /auth/login and auth's per-account failure limit.
LOGIN_BURST = int(_cfg.get("FEIRA_LOGIN_BURST", "20"))
LOGIN_MAX_FAILURES = int(_cfg.get("LOGIN_MAX_FAILURES", "5"))
