"""Meta's WhatsApp Cloud API, as notifications speaks it: template messages sent with the bearer
token, and the status webhooks' proofs (the GET handshake's verify token, `X-Hub-Signature-256`
over the raw body). The same code reaches Meta (`WHATSAPP_API_URL=https://graph.facebook.com`)
or the local stand-in; nothing here logs a number, a token or a signature."""

from __future__ import annotations

import hashlib
import hmac

import requests
from flask import current_app

LANGUAGE = "pt_BR"
# WHATSAPP_TIMEOUT_S when not set: to connect, and again to read Graph's answer.
DEFAULT_TIMEOUT_S = 10.0
_session = requests.Session()


class Retry(Exception):
    """The provider could not take it now (429, 5xx, a rate limit's or an outage's Graph code,
    unreachable): try again later."""


# Graph's codes for "not now", whatever the HTTP status (Meta answers its rate limits as 400
# too): the rate limits (4 the app's calls, 80007 the account's, 130429 the number's throughput,
# 131056 too many to one recipient) and its own trouble (1 unknown, 2 service, 131000 something
# went wrong, 131016 service unavailable, 133004 server temporarily unavailable). Any other 4xx
# is refused for good.
RETRY_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})


class Refused(Exception):
    """The provider refused the message for good (a 4xx): its Graph error, as text."""


def _graph_error(response: requests.Response) -> str:
    """Graph's error as one line: its message, its code once (`… (code 131000)`, as a failed
    status's error reads), then its details only when they add to the message (Meta's often
    repeat it: "(#131000) Something went wrong", details "Something went wrong")."""
    try:
        error = response.json()["error"]
        message = str(error.get("message") or "").strip()
        code = error.get("code")
        details = str((error.get("error_data") or {}).get("details") or "").strip()
        if code is not None and message.startswith(f"(#{code})"):
            message = message.removeprefix(f"(#{code})").strip()
        message = (message or details)[:300]
        text = f"{message} (code {code})" if code is not None else message
        if details and _plain(details) not in _plain(message):
            text = f"{text}: {details[:150]}"
        return text or f"HTTP {response.status_code}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"HTTP {response.status_code}"


def _plain(text: str) -> str:
    """Text as compared for repetition: "Message Undeliverable." says "Message undeliverable"."""
    return text.rstrip(". ").casefold()


def _code(response: requests.Response) -> int | None:
    """The Graph error's code, if the answer has one that is a number (anything else, a list
    included, is no code: it must not break the set lookup in `send_template`)."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def parameter_text(value: str) -> str:
    """A template parameter as Meta takes it: it refuses one with a new line, a tab or more than
    four spaces in a row for good (error 132018), so every run of whitespace becomes one space,
    none at either end ("-" if nothing is left: an empty one is refused too)."""
    return " ".join(value.split()) or "-"


def send_template(to: str, template: str, parameters: list[str]) -> str:
    """Send `template` to the E.164 number `to`, its parameters as Meta takes them
    (`parameter_text`); the message id (`wamid.…`) the provider gave."""
    config = current_app.config
    url = (
        f"{config['WHATSAPP_API_URL'].rstrip('/')}/v{config['WHATSAPP_API_VERSION']}"
        f"/{config['WHATSAPP_PHONE_NUMBER_ID']}/messages"
    )
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.lstrip("+"),
        "type": "template",
        "template": {
            "name": template,
            "language": {"code": LANGUAGE},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": parameter_text(value)} for value in parameters
                    ],
                }
            ],
        },
    }
    try:
        response = _session.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {config['WHATSAPP_ACCESS_TOKEN']}"},
            timeout=config["WHATSAPP_TIMEOUT_S"],
        )
    except requests.RequestException as exc:
        raise Retry(f"WhatsApp unreachable: {type(exc).__name__}") from exc
    if response.status_code == 429 or response.status_code >= 500 or _code(response) in RETRY_CODES:
        raise Retry(_graph_error(response))
    if response.status_code >= 400:
        raise Refused(_graph_error(response))
    try:
        return str(response.json()["messages"][0]["id"])
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise Retry("WhatsApp answered something unreadable") from exc


def signature_ok(body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`."""
    secret = current_app.config["WHATSAPP_APP_SECRET"]
    if not secret or not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().encode(), expected.encode())


def verify_token_ok(token: str | None) -> bool:
    expected = current_app.config["WHATSAPP_VERIFY_TOKEN"]
    if not expected or token is None:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())
