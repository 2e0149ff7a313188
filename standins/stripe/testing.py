"""`running_stripe_standin(...)`: the stand-in over real HTTP in a thread, for pytest.

    with running_stripe_standin(secret_key="sk_test_x", webhook_secret="whsec_x",
                                webhook_url=endpoint) as standin:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": standin.url})
        ...
        standin.webhook_url = other_endpoint  # later events go there

The yielded `RunningStandin` is a `str` (the base URL, e.g. `http://127.0.0.1:40123`) with
`url`, `webhook_url` (read and write) and `app` (the Flask app) besides.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.kit.testing import LiveServer

from . import create_app


class RunningStandin(str):
    app: object

    @property
    def url(self) -> str:
        return str(self)

    @property
    def webhook_url(self) -> str | None:
        return self.app.extensions["stripe_webhooks"].url

    @webhook_url.setter
    def webhook_url(self, value: str | None) -> None:
        self.app.extensions["stripe_webhooks"].url = value or None

    def quiet(self) -> None:
        """No webhook of the last test still queued or on its way (the next one's set-up)."""
        self.app.extensions["stripe_webhooks"].quiet()


@contextmanager
def running_stripe_standin(
    *,
    secret_key: str,
    webhook_secret: str,
    webhook_url: str | None = None,
    pix_key: str = "pix@feira.local",
) -> Iterator[RunningStandin]:
    config = {
        "PAYMENTS_PROVIDER_SECRET_KEY": secret_key,
        "PAYMENTS_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_STANDIN_WEBHOOK_URL": webhook_url or "",
        "STRIPE_STANDIN_PIX_KEY": pix_key,
    }
    # The port is known once bound: the app learns its own address (for the PIX URLs) after.
    server = LiveServer(create_app(config))
    server.app.extensions["stripe_store"].base_url = server.base_url
    standin = RunningStandin(server.base_url)
    standin.app = server.app
    server.start()
    try:
        yield standin
    finally:
        server.stop()
        server.app.extensions["stripe_webhooks"].stop()
