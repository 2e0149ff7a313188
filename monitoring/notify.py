"""Telling people: every incident opened or closed is logged, and POSTed as JSON to WEBHOOK_URL
(when set) from a background thread, retried with backoff, so no check waits for it."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import requests

log = logging.getLogger("feira.monitoring.incidents")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class Notifier:
    def __init__(
        self,
        webhook_url: str | None,
        *,
        attempts: int = 5,
        backoff: float = 1.0,
        timeout: float = 5.0,
        session: requests.Session | None = None,
    ):
        self.webhook_url = webhook_url or None
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.session = session or requests.Session()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook")

    def incident(self, event: str, incident: dict[str, Any], *, notify: bool) -> Future | None:
        """Log `event` (incident.opened or incident.closed) and, when `notify`, POST it.

        An incident linked to a root cause is logged only: its root cause's notification says it.
        """
        body = {"event": event, "incident": {k: _json(v) for k, v in incident.items()}}
        level = logging.WARNING if notify and event == "incident.opened" else logging.INFO
        log.log(level, event, extra={**body["incident"], "notified": notify})
        if not notify or not self.webhook_url:
            return None
        return self._pool.submit(self._post, body)

    def _post(self, body: dict[str, Any]) -> bool:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.post(self.webhook_url, json=body, timeout=self.timeout)
                if response.status_code < 300:
                    return True
                reason = f"status {response.status_code}"
            except requests.RequestException as exc:
                reason = type(exc).__name__
            if attempt < self.attempts:
                time.sleep(delay)
                delay = min(delay * 2, 60)
        log.error(
            "webhook not delivered",
            extra={"event": body["event"], "attempts": self.attempts, "reason": reason},
        )
        return False

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every notification queued so far is delivered or given up."""
        self._pool.submit(lambda: None).result(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
