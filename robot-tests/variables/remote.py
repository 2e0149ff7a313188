"""Robot variables for a Feira somewhere else, reached only through its gateway.

    FEIRA_BASE_URL=https://feira.example.com FEIRA_ADMIN_EMAIL=... FEIRA_ADMIN_PASSWORD=... \
        make robot ROBOT_ENV=remote

or `--variablefile "robot-tests/variables/remote.py;https://feira.example.com"` (a semicolon:
the URL has colons) with the credentials in the environment. FEIRA_LOGIN_BURST,
LOGIN_MAX_FAILURES, IMAGE_MAX_BYTES and MONITOR_INTERVAL (the monitoring worker's: unset, every
15 s) default to the stack's defaults; set them when the remote differs. Tests tagged
`local-only` (they read the stack's key files or stop its processes) are left out.
"""

from __future__ import annotations

import os

from _shared import limits


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"variables/remote.py needs {name} in the environment")
    return value


def get_variables(base_url: str | None = None) -> dict:
    return {
        "BASE_URL": (base_url or _required("FEIRA_BASE_URL")).rstrip("/"),
        "ADMIN_EMAIL": _required("FEIRA_ADMIN_EMAIL"),
        "ADMIN_PASSWORD": _required("FEIRA_ADMIN_PASSWORD"),
        # A remote Feira talks to its real provider: no stand-in to play the payer, no webhook
        # secret here; the payments scenarios that need them are tagged `local-only`.
        "STRIPE_STANDIN_URL": None,
        "WEBHOOK_SECRET": None,
        # Likewise the WhatsApp stand-in, the SMTP sink and the WhatsApp secrets: the
        # notifications scenarios that need them are tagged `local-only`.
        "WHATSAPP_STANDIN_URL": None,
        "SMTP_SINK_URL": None,
        # No fixture shops either: the collector scenarios that collect are `local-only`.
        "SHOPS_URL": None,
        "WHATSAPP_APP_SECRET": None,
        "WHATSAPP_VERIFY_TOKEN": None,
        "MONITOR_EMAIL_TO": "",
        # The stack's key files and its processes are on another machine: the scenarios that
        # sign with the keys or stop a service are tagged `local-only`.
        "JWT_PRIVATE_KEY_FILE": None,
        "JWT_PUBLIC_KEY_FILE": None,
        "PYTHON": None,
        "PROJECT_ROOT": None,
        "WHATSAPP_REJECT_NUMBER": "5511900000000",
        **limits(lambda name, default: os.environ.get(name) or default),
    }
