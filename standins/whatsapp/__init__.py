"""A stand-in for Meta's WhatsApp Cloud API: the send route Feira's notifications service uses and
the signed status webhooks, over real HTTP. Test infrastructure (see `standins`).

Run by the stack as the supervisord program `whatsapp-standin` (one gunicorn worker: the state is
in memory) on 127.0.0.1:`WHATSAPP_STANDIN_PORT`, never behind the gateway. Settings:
`WHATSAPP_ACCESS_TOKEN` (the one bearer token it accepts), `WHATSAPP_APP_SECRET` (signs the
webhooks), `WHATSAPP_PHONE_NUMBER_ID` (the sender's id in the path; default 100000000000001),
`WHATSAPP_STANDIN_WEBHOOK_URL` (where it POSTs status webhooks; empty: recorded, not sent),
`WHATSAPP_STANDIN_REJECT_NUMBERS` (comma list of numbers, digits only, whose sends are accepted
and then fail; default 5511900000000), `WHATSAPP_STANDIN_STATUS_DELAY_S` (seconds between the
accept and each status webhook; default 0.2).

The Cloud API (JSON, Graph error objects `{"error": {message, type, code, error_subcode?,
error_data?: {details}, fbtrace_id}}`):
    POST /v{version}/{phone_number_id}/messages   Authorization: Bearer <token>; a template (or
        text) message -> 200 {messaging_product, contacts: [{input, wa_id}], messages: [{id}]}.
        A wrong or missing token: 401 code 190; another phone number id: 400 code 100 subcode
        33; a bad field: 400 code 100 naming it in error_data.details; an empty template
        parameter: 400 code 131008; one with a new line, a tab or 5 spaces in a row: 400 code
        132018 (as Meta refuses them).
Status webhooks: `sent`, `delivered`, `read` (or `failed` with error 131026 "Message
undeliverable" for a reject number), each POSTed to the webhook URL as Meta's
`whatsapp_business_account` notification with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
raw body with the app secret>`, tried again up to 3 times (0.5 s, 1 s, 2 s later) while the
endpoint answers no 2xx. Any template name is accepted (the stand-in knows no approved list).

Test-only routes (JSON; no token):
    GET    /_standin/health                       200 when up
    GET    /_standin/messages?to=5511...          {"items": [{id, to, type, template, language,
                                                  parameters, text, received_at, statuses_sent,
                                                  webhooks: [{status, timestamp, attempts,
                                                  last_status, delivered, dropped}]}]}, newest
                                                  first; statuses_sent: the statuses whose
                                                  webhook was POSTed (whatever the answer)
    DELETE /_standin/messages                     forget them (and the switches below)
    POST   /_standin/fail_next                    {"status": 429|500|503, "count": n}: the next
                                                  n valid sends answer that (code 130429 or
                                                  131000) and send nothing; {"status": 400,
                                                  "code": 4|80007|130429|131056, "count": n}:
                                                  a rate limit as Meta also answers it;
                                                  "to"?: only sends to that number (a test
                                                  beside others sending), else any
    POST   /_standin/messages/{wamid}/status      {"status": "sent|delivered|read|failed",
                                                  "age_s"?: 0}: one more status webhook, now,
                                                  timestamped age_s ago -> {"status": <the
                                                  endpoint's answer, null if none>}
    POST   /_standin/webhooks/drop                {"count": n}: the next n status webhooks due
                                                  are recorded as dropped, never POSTed
"""

from __future__ import annotations

import logging
import os

from flask import Flask

from . import api
from .state import Store
from .webhooks import Dispatcher

DEFAULT_PHONE_NUMBER_ID = "100000000000001"
DEFAULT_REJECT_NUMBERS = "5511900000000"


def create_app(config: dict | None = None) -> Flask:
    settings = {**os.environ, **(config or {})}
    token = settings.get("WHATSAPP_ACCESS_TOKEN", "")
    app_secret = settings.get("WHATSAPP_APP_SECRET", "")
    if not token or not app_secret:
        raise RuntimeError(
            "the WhatsApp stand-in needs WHATSAPP_ACCESS_TOKEN and WHATSAPP_APP_SECRET"
        )
    app = Flask("standins.whatsapp")
    rejects = settings.get("WHATSAPP_STANDIN_REJECT_NUMBERS", DEFAULT_REJECT_NUMBERS)
    app.extensions["whatsapp_settings"] = {
        "access_token": token,
        "phone_number_id": settings.get("WHATSAPP_PHONE_NUMBER_ID") or DEFAULT_PHONE_NUMBER_ID,
        "business_account_id": settings.get("WHATSAPP_STANDIN_WABA_ID") or "100000000000002",
        "display_phone_number": settings.get("WHATSAPP_STANDIN_DISPLAY_NUMBER") or "15550001234",
        "reject_numbers": {
            "".join(ch for ch in number if ch.isdigit()) for number in rejects.split(",")
        }
        - {""},
        "status_delay_s": float(settings.get("WHATSAPP_STANDIN_STATUS_DELAY_S") or 0.2),
    }
    store = Store()
    app.extensions["whatsapp_store"] = store
    app.extensions["whatsapp_webhooks"] = Dispatcher(
        app_secret, settings.get("WHATSAPP_STANDIN_WEBHOOK_URL"), store.attempted, store.dropped
    )
    api.register(app)
    if not logging.getLogger().handlers:  # under gunicorn: its stderr, which supervisord logs
        logging.basicConfig(level=settings.get("LOG_LEVEL", "INFO").upper())
    return app
