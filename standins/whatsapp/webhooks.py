"""Status webhooks as Meta sends them: the JSON body signed in `X-Hub-Signature-256` (HMAC-SHA256
of the raw body with the app secret), POSTed to the app's callback URL. Each is due at a time (the
statuses of a message follow each other); one that gets no 2xx is tried again a few times, from a
background thread. Meta does not promise the order: a retried `sent` may come after `delivered`.
"""

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

log = logging.getLogger("standins.whatsapp.webhooks")

# Seconds before each retry of a delivery that got no 2xx (Meta goes on for days; tests cannot).
RETRY_DELAYS = (0.5, 1.0, 2.0)
TIMEOUT = (1.0, 5.0)


def signature_header(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


class Dispatcher:
    """Posts webhooks when due, in the order they were queued when due at once. `record(key,
    status)` is told of every attempt (status None: no answer); `dropped(key)` is asked before
    the first attempt whether the webhook is lost instead (then never posted)."""

    def __init__(
        self,
        secret: str,
        url: str | None,
        record: Callable[[object, int | None], None],
        dropped: Callable[[object], bool],
    ) -> None:
        self.secret = secret
        self.url = url or None
        self._record = record
        self._dropped = dropped
        self._queue: list[tuple[float, int, object, bytes, int]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._stopped = False

    def stop(self) -> None:
        """Ends the delivery thread (webhooks still waiting are given up)."""
        with self._ready:
            self._stopped = True
            self._ready.notify_all()

    def send(self, key: object, payload: bytes) -> int | None:
        """Deliver once, now, in this thread; the endpoint's status (None: unreachable)."""
        url = self.url
        if not url:
            return None
        try:
            response = self._session.post(
                url,
                data=payload,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": signature_header(self.secret, payload),
                    "User-Agent": "facebookexternalua",
                },
                timeout=TIMEOUT,
            )
            status: int | None = response.status_code
        except requests.RequestException as error:
            log.info("status webhook: endpoint unreachable (%s)", type(error).__name__)
            status = None
        self._record(key, status)
        return status

    def enqueue(self, key: object, payload: bytes, *, delay: float = 0.0) -> None:
        with self._ready:
            due = time.monotonic() + delay
            heapq.heappush(self._queue, (due, next(self._order), key, payload, 0))
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
                _, _, key, payload, attempt = heapq.heappop(self._queue)
            if attempt == 0 and (not self.url or self._dropped(key)):
                continue
            status = self.send(key, payload)
            ok = status is not None and 200 <= status < 300
            log.info("status webhook attempt %d: %s", attempt + 1, status)
            if not ok and self.url and attempt < len(RETRY_DELAYS):
                due = time.monotonic() + RETRY_DELAYS[attempt]
                with self._ready:
                    heapq.heappush(self._queue, (due, next(self._order), key, payload, attempt + 1))
                    self._ready.notify()
