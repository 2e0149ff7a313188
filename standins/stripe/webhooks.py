"""Webhook delivery as Stripe does it: the event as JSON, signed in `Stripe-Signature`, POSTed to
the endpoint; a delivery that gets no 2xx is tried again a few times from a background thread."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import logging
import threading
import time
from collections.abc import Callable

import requests

log = logging.getLogger("standins.stripe.webhooks")

# Seconds before each retry of a delivery that got no 2xx (Stripe waits hours; tests cannot).
RETRY_DELAYS = (0.5, 1.0, 2.0)
TIMEOUT = (1.0, 5.0)


def signature_header(secret: str, payload: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Dispatcher:
    """Posts events in the order they were made; retries wait in a queue, due time first.
    `record(event_id, status)` is told of every attempt (status None: no answer)."""

    def __init__(
        self,
        secret: str,
        url: str | None,
        record: Callable[[str, int | None], None],
    ) -> None:
        self.secret = secret
        self.url = url or None
        self._record = record
        self._queue: list[tuple[float, int, str, bytes, int]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._stopped = False

    def stop(self) -> None:
        """Ends the delivery thread (retries still waiting are given up)."""
        with self._ready:
            self._stopped = True
            self._ready.notify_all()

    def send(self, event_id: str, payload: bytes, *, age_s: int = 0) -> int | None:
        """Deliver once, now, in this thread; the endpoint's status (None: unreachable)."""
        if not self.url:
            return None
        header = signature_header(self.secret, payload, int(time.time()) - age_s)
        try:
            response = self._session.post(
                self.url,
                data=payload,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": header,
                },
                timeout=TIMEOUT,
            )
            status: int | None = response.status_code
        except requests.RequestException as error:
            log.info("webhook %s: %s unreachable (%s)", event_id, self.url, type(error).__name__)
            status = None
        self._record(event_id, status)
        return status

    def enqueue(self, event_id: str, payload: bytes) -> None:
        if not self.url:
            return
        with self._ready:
            heapq.heappush(self._queue, (time.monotonic(), next(self._order), event_id, payload, 0))
            if self._thread is None or not self._thread.is_alive():
                # Started on first use: under gunicorn, in the worker, after the fork.
                self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._ready.wait(wait)
                if self._stopped:
                    return
                _, _, event_id, payload, attempt = heapq.heappop(self._queue)
            status = self.send(event_id, payload)
            ok = status is not None and 200 <= status < 300
            log.info("webhook %s attempt %d: %s", event_id, attempt + 1, status)
            if not ok and self.url and attempt < len(RETRY_DELAYS):
                due = time.monotonic() + RETRY_DELAYS[attempt]
                with self._ready:
                    heapq.heappush(
                        self._queue, (due, next(self._order), event_id, payload, attempt + 1)
                    )
                    self._ready.notify()
