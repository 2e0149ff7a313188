"""Robot variables for the docker compose stack (`docker compose up` on this machine).

Compose reads `.env` beside docker-compose.yml, as `stack.config` does, so the published gateway
port and the admin's credentials come from there. The containers' files are out of reach:
`make robot ROBOT_ENV=compose` leaves out the tests tagged `local-only`.
"""

from __future__ import annotations

# After _shared, which puts the checkout on the path when the project is not pip-installed.
from _shared import limits

from stack.config import StackConfig


def get_variables() -> dict:
    cfg = StackConfig.load()
    return {
        "BASE_URL": f"http://127.0.0.1:{cfg.get('FEIRA_GATEWAY_PORT', '8080')}",
        "ADMIN_EMAIL": cfg.get("FEIRA_ADMIN_EMAIL"),
        "ADMIN_PASSWORD": cfg.get("FEIRA_ADMIN_PASSWORD"),
        # The Stripe stand-in and the webhook secret stay inside compose's network and run dir:
        # the payments scenarios that need them are tagged `local-only`.
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
        # The key files and the processes are inside the containers: the scenarios that sign
        # with the keys or stop a service are tagged `local-only`.
        "JWT_PRIVATE_KEY_FILE": None,
        "JWT_PUBLIC_KEY_FILE": None,
        "PYTHON": None,
        "PROJECT_ROOT": None,
        "WHATSAPP_REJECT_NUMBER": "5511900000000",
        **limits(cfg.get),
    }
