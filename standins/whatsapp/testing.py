"""`running_whatsapp_standin(...)`: the stand-in over real HTTP in a thread, for pytest.

    with running_whatsapp_standin(access_token="t", app_secret="s",
                                  webhook_url=endpoint) as standin:
        requests.post(f"{standin.url}/v21.0/{standin.phone_number_id}/messages", ...)
        standin.messages(to="5511912345678")   # what it received, newest first
        standin.webhook_url = other_endpoint   # later webhooks go there

The yielded `RunningStandin` is a `str` (the base URL, e.g. `http://127.0.0.1:40123`, what
`WHATSAPP_API_URL` is set to) with `url`, `phone_number_id`, `webhook_url` (read and write),
`messages(to=None)` and `app` (the Flask app) besides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from services.kit.testing import LiveServer

from . import DEFAULT_PHONE_NUMBER_ID, DEFAULT_REJECT_NUMBERS, create_app


class RunningStandin(str):
    app: object

    @property
    def url(self) -> str:
        return str(self)

    @property
    def phone_number_id(self) -> str:
        return self.app.extensions["whatsapp_settings"]["phone_number_id"]

    @property
    def webhook_url(self) -> str | None:
        return self.app.extensions["whatsapp_webhooks"].url

    @webhook_url.setter
    def webhook_url(self, value: str | None) -> None:
        self.app.extensions["whatsapp_webhooks"].url = value or None

    def quiet(self) -> None:
        """No webhook of the last test still queued or on its way (the next one's set-up)."""
        self.app.extensions["whatsapp_webhooks"].quiet()

    def messages(self, to: str | None = None) -> list[dict]:
        """The sends it accepted (as `GET /_standin/messages` lists them), newest first."""
        digits = re.sub(r"\D", "", to) if to is not None else None
        return self.app.extensions["whatsapp_store"].listed(digits)


@contextmanager
def running_whatsapp_standin(
    *,
    access_token: str,
    app_secret: str,
    webhook_url: str | None = None,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    reject_numbers: str = DEFAULT_REJECT_NUMBERS,
    status_delay_s: float = 0.2,
) -> Iterator[RunningStandin]:
    config = {
        "WHATSAPP_ACCESS_TOKEN": access_token,
        "WHATSAPP_APP_SECRET": app_secret,
        "WHATSAPP_PHONE_NUMBER_ID": phone_number_id,
        "WHATSAPP_STANDIN_WEBHOOK_URL": webhook_url or "",
        "WHATSAPP_STANDIN_REJECT_NUMBERS": reject_numbers,
        "WHATSAPP_STANDIN_STATUS_DELAY_S": str(status_delay_s),
    }
    server = LiveServer(create_app(config))
    standin = RunningStandin(server.base_url)
    standin.app = server.app
    server.start()
    try:
        yield standin
    finally:
        server.stop()
        server.app.extensions["whatsapp_webhooks"].stop()
