"""The stand-in's memory: the messages it accepted (the last `KEEP`), the status webhooks made for
each, and the test switches (failures for the next sends, webhooks to lose)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Messages kept for the test routes; older ones are forgotten (a dev stack runs for days).
KEEP = 1000


class GraphError(Exception):
    """A Graph API error object: `{"error": {message, type, code, error_subcode?, error_data?,
    fbtrace_id}}` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int,
        *,
        type: str = "OAuthException",
        subcode: int | None = None,
        details: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.subcode = subcode
        self.details = details


@dataclass
class Webhook:
    """One status webhook of a message: what it says and what became of it."""

    status: str
    timestamp: int
    attempts: int = 0
    last_status: int | None = None
    dropped: bool = False

    def view(self) -> dict:
        return {
            "status": self.status,
            "timestamp": str(self.timestamp),
            "attempts": self.attempts,
            "last_status": self.last_status,
            "delivered": self.last_status is not None and 200 <= self.last_status < 300,
            "dropped": self.dropped,
        }


@dataclass
class Message:
    id: str
    to: str  # the wa_id: digits only
    type: str
    template: str | None
    language: str | None
    parameters: list[str]
    text: str | None
    received_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    webhooks: list[Webhook] = field(default_factory=list)

    def view(self) -> dict:
        return {
            "id": self.id,
            "to": self.to,
            "type": self.type,
            "template": self.template,
            "language": self.language,
            "parameters": list(self.parameters),
            "text": self.text,
            "received_at": self.received_at,
            # The statuses whose webhook was POSTed at least once (whatever the answer).
            "statuses_sent": [hook.status for hook in self.webhooks if hook.attempts],
            "webhooks": [hook.view() for hook in self.webhooks],
        }


class Store:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: OrderedDict[str, Message] = OrderedDict()
        # The number a failure is for (None: any) -> ((HTTP status, Graph code), sends left to fail)
        self._failures: dict[str | None, tuple[tuple[int, int], int]] = {}
        self._drop = 0

    def add(self, message: Message) -> None:
        with self._lock:
            self._messages[message.id] = message
            while len(self._messages) > KEEP:
                self._messages.popitem(last=False)

    def get(self, message_id: str) -> Message | None:
        with self._lock:
            return self._messages.get(message_id)

    def listed(self, to: str | None = None) -> list[dict]:
        with self._lock:
            return [
                message.view()
                for message in reversed(self._messages.values())
                if to is None or message.to == to
            ]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._failures.clear()
            self._drop = 0

    def fail_next(self, failure: tuple[int, int], count: int, to: str | None = None) -> None:
        """The next `count` sends to `to` (digits; None: to any number) answer `failure`; it
        replaces the one set for the same `to`."""
        with self._lock:
            self._failures[to] = (failure, count)

    def take_failure(self, to: str) -> tuple[int, int] | None:
        """The (HTTP status, Graph code) a send to `to` answers with, if a failure is set for that
        number or, failing that, for any (used up by this send)."""
        with self._lock:
            for scope in (to, None):
                failure, left = self._failures.get(scope, ((0, 0), 0))
                if left > 0:
                    self._failures[scope] = (failure, left - 1)
                    return failure
            return None

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._drop = count

    def dropped(self, hook: Webhook) -> bool:
        """Is this webhook, about to be POSTed the first time, lost instead?"""
        with self._lock:
            if self._drop <= 0:
                return False
            self._drop -= 1
            hook.dropped = True
            return True

    def webhook(self, message: Message, status: str, timestamp: int) -> Webhook:
        hook = Webhook(status, timestamp)
        with self._lock:
            message.webhooks.append(hook)
        return hook

    def attempted(self, hook: Webhook, status: int | None) -> None:
        with self._lock:
            hook.attempts += 1
            hook.last_status = status
