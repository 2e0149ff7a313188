"""An SMTP sink standing in for a mail server: it accepts every message (aiosmtpd) and keeps the
last `KEEP` in memory, which an HTTP read-back in the same process lists. Test infrastructure (see
`standins`): nothing is relayed anywhere.

Run by the stack as the supervisord program `smtp-standin` (`python -m standins.smtp`): SMTP on
127.0.0.1:`SMTP_STANDIN_PORT`, the read-back on 127.0.0.1:`SMTP_STANDIN_HTTP_PORT`, never behind
the gateway. No STARTTLS; AUTH (PLAIN, LOGIN) is offered without TLS and any credentials pass, so
a client configured with SMTP_USER/SMTP_PASSWORD works against it too.

Read-back routes (JSON):
    GET    /_standin/messages?to=<addr>   {"items": [{"from", "to": [...], "subject",
                                          "message_id", "text", "received_at"}]}, newest
                                          first; `to` matches one of the envelope's
                                          recipients, case-insensitively
    DELETE /_standin/messages             forget them (204)
    GET    /_standin/health               200 when up
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask import Flask, Response, jsonify, request

# Messages kept; older ones are forgotten (a dev stack runs for days).
KEEP = 1000


class Sink:
    """What the SMTP server received, the newest last; safe across threads."""

    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._messages: deque[dict] = deque(maxlen=keep)

    def add(self, mail_from: str, recipients: list[str], data: bytes) -> dict:
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        try:
            text = body.get_content() if body is not None else ""
        except (LookupError, KeyError):  # an unknown charset: the raw payload, decoded leniently
            text = (body.get_payload(decode=True) or b"").decode("utf-8", "replace")
        item = {
            # Stripped: a header folded right after its name unfolds with a leading space.
            "from": str(message.get("From") or mail_from).strip(),
            "to": list(recipients),
            "subject": str(message.get("Subject") or "").strip(),
            "message_id": str(message.get("Message-ID") or "").strip(),
            # Lines as written: SMTP carries them with CRLF.
            "text": text.replace("\r\n", "\n"),
            "received_at": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            self._messages.append(item)
        return item

    def listed(self, to: str | None = None) -> list[dict]:
        wanted = to.strip().lower() if to is not None else None
        with self._lock:
            return [
                dict(item)
                for item in reversed(self._messages)
                if wanted is None or wanted in (address.lower() for address in item["to"])
            ]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class Handler:
    """aiosmtpd's handler: every message is accepted and kept."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sink.add(envelope.mail_from, envelope.rcpt_tos, data)
        return "250 Message accepted for delivery"


def accept_any_login(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)


def controller(sink: Sink, host: str, port: int):
    """The SMTP server (not started) that keeps what it receives in `sink`."""
    from aiosmtpd.controller import Controller

    return Controller(
        Handler(sink),
        hostname=host,
        port=port,
        authenticator=accept_any_login,
        auth_require_tls=False,
    )


def create_http_app(sink: Sink) -> Flask:
    app = Flask("standins.smtp")

    @app.get("/_standin/health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.get("/_standin/messages")
    def messages() -> Response:
        return jsonify(items=sink.listed(request.args.get("to")))

    @app.delete("/_standin/messages")
    def forget() -> Response:
        sink.clear()
        return Response(status=204)

    return app
