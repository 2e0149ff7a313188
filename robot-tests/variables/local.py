"""Robot variables for a stack on this machine, read from the stack's own settings.

`FEIRA_ENV_FILE=stack/test.env` makes them point at the test stack (gateway on 18080),
exactly as it does for `python -m stack`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

try:
    from monitoring.config import parse_duration
    from stack.config import ROOT, StackConfig
except ImportError:  # the project is not pip-installed: import it from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from monitoring.config import parse_duration
    from stack.config import ROOT, StackConfig

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "BASE_URL",
    "CHROMEDRIVER",
    "CHROMIUM",
    "DOWN_WITHIN",
    "IMAGE_MAX_BYTES",
    "JWT_PRIVATE_KEY_FILE",
    "JWT_PUBLIC_KEY_FILE",
    "LOGIN_BURST",
    "LOGIN_MAX_FAILURES",
    "PROJECT_ROOT",
    "PYTHON",
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
# The largest picture upload the gateway and products accept (a larger one is a 413).
IMAGE_MAX_BYTES = int(_cfg.get("IMAGE_MAX_BYTES", "5242880"))
# The fault tests stop and start a process of this stack with `python -m stack stop|start`.
PYTHON = sys.executable
PROJECT_ROOT = str(ROOT)
# A stopped service is down within two check intervals plus the failure threshold (two checks);
# MONITOR_INTERVAL shortens every interval (the test stack's is 2s). Ten seconds of slack.
_interval = parse_duration(_cfg.get("MONITOR_INTERVAL", "15s"))
DOWN_WITHIN = f"{(2 + 2) * _interval + 10:g}s"
# Debian's chromium and chromium-driver (.ci/run installs them) for the dashboard suite.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
