"""Webhook delivery shared by the stand-ins: a body POSTed to the endpoint when it is due, signed
as the third party signs it (each stand-in's `headers`), and tried again a few times from a
background thread when it gets no 2xx."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

import requests

log = logging.getLogger("standins.delivery")

# Seconds before each retry of a delivery that got no 2xx (the real parties go on for hours or
# days; tests cannot).
RETRY_DELAYS = (0.5, 1.0, 2.0)
TIMEOUT = (1.0, 5.0)


class Dispatcher:
    """Posts webhooks when due, in the order they were queued when due at once. Logs name no key:
    a key may hold a message and its recipient. `record(key,
    status)` is told of every attempt (status None: no answer); `dropped(key)`, when given, is
    asked before the first attempt whether the webhook is lost instead (then never posted)."""

    def __init__(
        self,
        secret: str,
        url: str | None,
        record: Callable[[object, int | None], None],
        dropped: Callable[[object], bool] | None = None,
    ) -> None:
        self.secret = secret
        self.url = url or None
        self._record = record
        self._dropped = dropped or (lambda key: False)
        self._queue: list[tuple[float, int, object, bytes, int]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._stopped = False
        self._sending = False  # a webhook taken from the queue and not yet answered

    def headers(self, payload: bytes, **options) -> dict[str, str]:
        """The request's headers, its signature among them: each stand-in's own."""
        raise NotImplementedError

    def quiet(self, timeout: float = 10.0) -> None:
        """Forgets every webhook still queued and waits for the one on its way, if any, to be
        answered: no test's webhook reaches the endpoint while the next test sets up (empties
        the tables it would write)."""
        with self._ready:
            self._queue.clear()
            self._ready.wait_for(lambda: not self._sending, timeout)
            # The retry that delivery may have queued as it ended.
            self._queue.clear()

    def stop(self) -> None:
        """Ends the delivery thread (webhooks still waiting are given up)."""
        with self._ready:
            self._stopped = True
            self._ready.notify_all()

    def send(self, key: object, payload: bytes, **options) -> int | None:
        """Deliver once, now, in this thread; the endpoint's status (None: unreachable)."""
        url = self.url
        if not url:
            return None
        try:
            response = self._session.post(
                url, data=payload, headers=self.headers(payload, **options), timeout=TIMEOUT
            )
            status: int | None = response.status_code
        except requests.RequestException as error:
            log.info("webhook: endpoint unreachable (%s)", type(error).__name__)
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
                self._sending = True
            retry = None
            try:
                if attempt == 0 and (not self.url or self._dropped(key)):
                    continue
                status = self.send(key, payload)
                log.info("webhook attempt %d: %s", attempt + 1, status)
                failed = status is None or not 200 <= status < 300
                if failed and self.url and attempt < len(RETRY_DELAYS):
                    due = time.monotonic() + RETRY_DELAYS[attempt]
                    retry = (due, next(self._order), key, payload, attempt + 1)
            finally:
                with self._ready:
                    self._sending = False
                    if retry is not None:
                        heapq.heappush(self._queue, retry)
                    self._ready.notify_all()
