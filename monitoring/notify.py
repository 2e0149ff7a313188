"""Telling people: every incident opened or closed is logged, POSTed as JSON to WEBHOOK_URL (when
set) and mailed to MONITOR_EMAIL_TO (when set), each channel from a background thread of its own
and retried with backoff, so no check waits for either and a slow one does not hold up the other.
The queue is in memory only: what a channel made of each notification (delivered, given up after
its tries, dropped when the worker stopped first) is reported back, to be recorded."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

import requests

from services.kit.mail import MailError, send_mail

log = logging.getLogger("feira.monitoring.incidents")

EMAIL_SUBJECT_PREFIX = "[Feira monitoring]"
DELIVERED, GIVEN_UP, DROPPED = "delivered", "given_up", "dropped"
# An incident.closed's `closed_because` when its target left targets.yaml (removed, renamed or
# disabled) rather than recovered: the worker ended it when it started without the target.
NO_LONGER_MONITORED = "target no longer monitored"


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# One recipient of MONITOR_EMAIL_TO: up to a comma outside a quoted name.
_RECIPIENT = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^,"])+')


def email_recipients(raw: str | None) -> list[str]:
    """MONITOR_EMAIL_TO: a comma-separated list, each bare (`sre@feira.local`) or with a name
    (`"Ops, SRE" <sre@feira.local>`: a quoted name may hold a comma); empty means no e-mail.
    Not email.utils.getaddresses: it cuts an entry that is not an address down to a word of it,
    where send_mail should see and refuse it as written."""
    return [part.strip() for part in _RECIPIENT.findall(raw or "") if part.strip()]


def _bare(address: str) -> str:
    """A recipient as send_mail names it in `sent_to` and `retry_to`: `sre@feira.local` for
    `SRE <sre@feira.local>`. What is not one address stays as written, for send_mail to refuse."""
    parsed = getaddresses([address.strip()])
    return parsed[0][1] if len(parsed) == 1 and parsed[0][1] else address


def duration(seconds: float) -> str:
    """`45 s`, `1 min 51 s`, `2 h 5 min 0 s`, `3 d 1 h 0 s`: to the second, as the API's
    `duration_s` counts. The e-mail and the status page both say it so: an outage of 1 min 51 s
    is not `1 min` on the one and `1 min 51 s` on the other."""
    seconds = max(0, round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
        f"{seconds} s",
    ]
    return " ".join(part for part in parts if part)


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else duration(seconds)


PUBLIC_URL_SETTING = "MONITOR_PUBLIC_URL"


def public_url(raw: str | None) -> str | None:
    """MONITOR_PUBLIC_URL: where people reach the stack (its gateway, which serves /status), for
    the e-mail's links; empty means none. A mail client opens no relative link, so without it
    the e-mail has none rather than a bare `/status`."""
    raw = (raw or "").strip().rstrip("/")
    if not raw:
        return None
    parsed = urlsplit(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{PUBLIC_URL_SETTING}: must be an http(s) URL, not {raw!r}")
    return raw


# Where the one who gets the e-mail learns what the alert means and what to run first.
RUNBOOK = 'What to do: README.md, section "On call" (each alert, its first commands).'


def email_for(event: str, incident: dict[str, Any], public: str | None = None) -> tuple[str, str]:
    """The subject (the target and its state) and the text of an incident's e-mail, with links
    to the dashboard under `public` (MONITOR_PUBLIC_URL) when there is one."""
    target = incident.get("target", "?")
    opened = event == "incident.opened"
    root = incident.get("root_cause_target")
    outlived = bool(incident.get("outlived_root_cause"))
    unmonitored = incident.get("closed_because") == NO_LONGER_MONITORED
    if opened and outlived:
        subject = (
            f"{EMAIL_SUBJECT_PREFIX} {target} is still DOWN after {root} recovered "
            "(incident opened)"
        )
    elif opened:
        subject = f"{EMAIL_SUBJECT_PREFIX} {target} is DOWN (incident opened)"
    elif unmonitored:
        took = _duration(incident.get("duration_s"))
        subject = (
            f"{EMAIL_SUBJECT_PREFIX} {target} is no longer monitored after {took} down "
            "(incident closed)"
        )
    else:
        took = _duration(incident.get("duration_s"))
        subject = f"{EMAIL_SUBJECT_PREFIX} {target} is UP again after {took} (incident resolved)"
    if opened:
        state = "down"
    elif unmonitored:
        state = "unknown: no longer in targets.yaml (removed, renamed or disabled), not checked"
    else:
        state = "up (recovered)"
    lines = [
        f"Target: {target}",
        f"State: {state}",
        f"Incident: {incident.get('key', '?')}",
        f"Started at: {_json(incident.get('started_at'))}",
    ]
    if not opened:
        lines += [
            f"Ended at: {_json(incident.get('ended_at'))}",
            f"Duration: {_duration(incident.get('duration_s'))}",
        ]
    lines += [
        f"First failing step: {incident.get('first_failing_step') or '-'}",
        f"Error: {incident.get('error') or '-'}",
    ]
    if outlived:
        lines.append(f"Root cause: {root} (recovered first: {target} outlived it)")
    elif root:
        lines.append(f"Root cause: {root}")
    if opened:
        lines.append(RUNBOOK)
    if public:
        lines += [
            "",
            f"The dashboard: {public}/status (its incidents at {public}/status/api/incidents).",
        ]
    return subject, "\n".join(lines) + "\n"


def incident_message_id(event: str, incident: dict[str, Any]) -> str | None:
    """The left part of an incident e-mail's Message-ID, one per incident and event
    (`feira-incident-<key>-opened`): a message sent again is one a mail client knows it has."""
    key = incident.get("key")
    return f"feira-incident-{key}-{event.rpartition('.')[2]}" if key else None


class Notifier:
    def __init__(
        self,
        webhook_url: str | None,
        *,
        email_to: list[str] | None = None,
        attempts: int = 5,
        backoff: float = 1.0,
        timeout: float = 5.0,
        session: requests.Session | None = None,
        mailer: Callable[..., None] = send_mail,
        public_url: str | None = None,
    ):
        self.webhook_url = webhook_url or None
        self.public_url = public_url
        # Bare addresses, as the mailer answers with: a "Name <address>" kept as written would
        # match none of its retry_to, and a server away for a moment would lose the e-mail.
        self.email_to = [_bare(address) for address in email_to or []]
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.session = session or requests.Session()
        self.mailer = mailer
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook")
        self._mail_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="email")
        # Each notification's report until it is made: one outcome each, whoever comes first
        # (its end, or close() dropping it).
        self._unreported: dict[Future, Callable[[str], None]] = {}
        self._reports_lock = threading.Lock()
        # Set by close(): a notification being tried stops between tries, so a stopped worker
        # exits at once rather than after its backoff (some 40 s).
        self._closed = threading.Event()

    def incident(
        self,
        event: str,
        incident: dict[str, Any],
        *,
        notify: bool,
        report: Callable[[str, str], None] | None = None,
    ) -> Future | None:
        """Log `event` (incident.opened or incident.closed) and, when `notify`, POST it and mail
        it. The answer is the webhook's delivery when there is a webhook, else the e-mail's;
        `report(channel, outcome)` hears what each channel made of it (DELIVERED, GIVEN_UP,
        DROPPED).

        An incident held back as the consequence of its root cause is logged only: its root
        cause's notification says it.
        """
        body = {"event": event, "incident": {k: _json(v) for k, v in incident.items()}}
        level = logging.WARNING if notify and event == "incident.opened" else logging.INFO
        log.log(level, event, extra={**body["incident"], "notified": notify})
        if not notify:
            return None
        mailed = posted = None
        if self.email_to:
            mailed = self._mail_pool.submit(self._mail, event, incident)
            self._report_to(report, "email", mailed)
        if self.webhook_url:
            posted = self._pool.submit(self._post, body)
            self._report_to(report, "webhook", posted)
        return posted or mailed

    def _report_to(
        self, report: Callable[[str, str], None] | None, channel: str, sent: Future
    ) -> None:
        if report is None:
            return
        with self._reports_lock:
            self._unreported[sent] = lambda outcome: report(channel, outcome)

        def done(future: Future) -> None:
            if future.cancelled():
                outcome = DROPPED
            else:
                outcome = DELIVERED if future.exception() is None and future.result() else GIVEN_UP
            self._report(future, outcome)

        sent.add_done_callback(done)

    def _report(self, sent: Future, outcome: str) -> None:
        with self._reports_lock:
            report = self._unreported.pop(sent, None)
        if report is not None:
            report(outcome)

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
                if self._closed.wait(delay):
                    break
                delay = min(delay * 2, 60)
        log.error(
            "webhook not delivered",
            extra={"event": body["event"], "attempts": attempt, "reason": reason},
        )
        return False

    def _mail(self, event: str, incident: dict[str, Any]) -> bool:
        """Mail the incident to MONITOR_EMAIL_TO, tried as often as the webhook, each try only to
        the recipients the server has not taken it for yet, under one Message-ID; an answer that
        trying again cannot change (a 5xx, a refused login) ends the tries for its recipients."""
        subject, text = email_for(event, incident, self.public_url)
        message_id = incident_message_id(event, incident)
        pending, lost = list(self.email_to), []
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                self.mailer(pending, subject, text, message_id=message_id)
                pending = []
            except MailError as exc:
                reason = str(exc)
                lost += [a for a in pending if a not in exc.sent_to and a not in exc.retry_to]
                pending = [address for address in pending if address in exc.retry_to]
            except Exception as exc:  # a bug must not kill the channel's thread silently
                reason = type(exc).__name__
            if not pending:
                break
            if attempt < self.attempts:
                log.info(
                    "incident e-mail not sent yet",
                    extra={"event": event, "attempt": attempt, "reason": reason},
                )
                if self._closed.wait(delay):
                    break
                delay = min(delay * 2, 60)
        if not pending and not lost:
            return True
        log.error(
            "incident e-mail not sent",
            extra={
                "event": event,
                "attempts": attempt,
                "reason": reason,
                "recipients": len(self.email_to),
                "not_sent_to": len(pending) + len(lost),
            },
        )
        return False

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every notification queued so far is delivered or given up, or `timeout`
        (what is still queued or being tried then is close()'s to drop)."""
        deadline = time.monotonic() + timeout
        try:
            for pool in (self._pool, self._mail_pool):
                pool.submit(lambda: None).result(timeout=max(deadline - time.monotonic(), 0.01))
        except FutureTimeout:
            log.warning("notifications still queued", extra={"waited_s": timeout})

    def close(self) -> None:
        """Stop: what is still queued is cancelled, and what is being tried still (a webhook may
        retry for some 40 s) is not waited for. Both are reported DROPPED now, while the worker
        can still record it; the latter makes no further try, and what it ends as is not
        reported."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._mail_pool.shutdown(wait=False, cancel_futures=True)
        with self._reports_lock:
            running = list(self._unreported)
        for sent in running:
            self._report(sent, DROPPED)
