"""Robot variables for a stack on this machine, read from the stack's own settings.

`FEIRA_ENV_FILE=stack/test.env` makes them point at the test stack (gateway on 18080),
exactly as it does for `python -m stack`.
"""

from __future__ import annotations

import sys

# After _shared, which puts the checkout on the path when the project is not pip-installed.
from _shared import limits

from stack.config import ROOT, StackConfig


def get_variables() -> dict:
    cfg = StackConfig.load()
    # The secrets as the stack hands them to its services and stand-ins: the generated ones
    # while FEIRA_STANDINS lists their stand-in, whatever .env says.
    secrets = cfg.secrets()
    return {
        "BASE_URL": cfg.gateway_url,
        "ADMIN_EMAIL": cfg.get("FEIRA_ADMIN_EMAIL"),
        "ADMIN_PASSWORD": cfg.get("FEIRA_ADMIN_PASSWORD"),
        # Only on the machine that runs the stack: tests that need them are tagged `local-only`.
        "JWT_PRIVATE_KEY_FILE": str(cfg.private_key_path),
        "JWT_PUBLIC_KEY_FILE": str(cfg.public_key_path),
        # The fault tests stop and start a process of this stack: `python -m stack stop|start`.
        "PYTHON": sys.executable,
        "PROJECT_ROOT": str(ROOT),
        # The Stripe stand-in (FEIRA_STANDINS=stripe), reached directly: the gateway never routes
        # it. Its test-only routes play the payer and lose or replay webhooks (`local-only`).
        "STRIPE_STANDIN_URL": f"http://{cfg.host}:{cfg.get('STRIPE_STANDIN_PORT', '5090')}",
        # What the stand-in signs webhooks with, for the scenarios that sign an event themselves
        # (a replay through the gateway).
        "WEBHOOK_SECRET": secrets["PAYMENTS_WEBHOOK_SECRET"],
        # The WhatsApp stand-in and the SMTP sink (FEIRA_STANDINS=...,whatsapp,smtp), reached
        # directly: their test-only routes list the messages sent and make the provider fail.
        "WHATSAPP_STANDIN_URL": f"http://{cfg.host}:{cfg.get('WHATSAPP_STANDIN_PORT', '5091')}",
        "SMTP_SINK_URL": f"http://{cfg.host}:{cfg.get('SMTP_STANDIN_HTTP_PORT', '5026')}",
        # The fixture shops the collector reads (FEIRA_STANDINS=...,shops), reached directly:
        # their request log proves what the collector fetched and what it never did.
        "SHOPS_URL": f"http://{cfg.host}:{cfg.get('SHOPS_STANDIN_PORT', '5092')}",
        # What status webhooks are signed with and the handshake's token, for the scenarios that
        # forge or answer them.
        "WHATSAPP_APP_SECRET": secrets["WHATSAPP_APP_SECRET"],
        "WHATSAPP_VERIFY_TOKEN": secrets["WHATSAPP_VERIFY_TOKEN"],
        # Where the monitoring worker e-mails incidents (empty: no e-mail channel).
        "MONITOR_EMAIL_TO": cfg.get("MONITOR_EMAIL_TO", ""),
        # The stand-in's number whose messages fail (error 131026), E.164 without '+'.
        "WHATSAPP_REJECT_NUMBER": (
            cfg.get("WHATSAPP_STANDIN_REJECT_NUMBERS", "5511900000000") or "5511900000000"
        )
        .split(",")[0]
        .strip(),
        **limits(cfg.get),
    }
