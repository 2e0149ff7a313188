"""Webhook delivery as Stripe does it: the event as JSON, signed in `Stripe-Signature` (`t=<unix
time>,v1=<HMAC-SHA256 of "t.body">`), POSTed to the endpoint; a delivery that gets no 2xx is
tried again a few times from a background thread (standins/delivery.py)."""

from __future__ import annotations

import hashlib
import hmac
import time

from standins import delivery


def signature_header(secret: str, payload: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Dispatcher(delivery.Dispatcher):
    """`send(event_id, payload, age_s=600)` signs as if `age_s` seconds ago (a stale signature)."""

    def headers(self, payload: bytes, *, age_s: int = 0) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(self.secret, payload, int(time.time()) - age_s),
        }
