"""Status webhooks as Meta sends them: the JSON body signed in `X-Hub-Signature-256` (HMAC-SHA256
of the raw body with the app secret), POSTed to the app's callback URL. Each is due at a time (the
statuses of a message follow each other); one that gets no 2xx is tried again a few times, from a
background thread (standins/delivery.py). Meta does not promise the order: a retried `sent` may
come after `delivered`.
"""

from __future__ import annotations

import hashlib
import hmac

from standins import delivery


def signature_header(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


class Dispatcher(delivery.Dispatcher):
    def headers(self, payload: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_header(self.secret, payload),
            "User-Agent": "facebookexternalua",
        }
