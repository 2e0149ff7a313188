"""A collector run that failed or was partial, mailed to the admins (COLLECTOR_ALERT_TO).

Sent while the event is received: an SMTP server that cannot take it now makes the receipt a 503,
so the collector's relay delivers the event again later (its backoff is the retry); a permanent
refusal, or no address configured, is logged and the event is done."""

from __future__ import annotations

import logging

from flask import current_app

from services.kit import Unavailable
from services.kit.mail import MailError, send_mail
from services.kit.outbox import reaches_outside

log = logging.getLogger("feira.notifications")

STATUS_WORDS = {"partial": "parcial", "failed": "falhou"}


def _line(value, limit: int) -> str:
    return " ".join(str(value if value is not None else "").split())[:limit]


@reaches_outside
def on_collector_run_finished(data: dict) -> None:
    """{run_id, source_id, source_name, status, error, pages_fetched, created, updated,
    unchanged, rejected}: mail when the status is partial or failed."""
    status = str(data["status"])
    if status not in STATUS_WORDS:
        return
    run_id, source_id = int(data["run_id"]), int(data["source_id"])
    to = current_app.config.get("COLLECTOR_ALERT_TO")
    if not to:
        log.warning("collector run %s %s: no COLLECTOR_ALERT_TO to tell", run_id, status)
        return
    name = _line(data.get("source_name"), 120) or f"fonte {source_id}"
    subject = f"Coleta {STATUS_WORDS[status]}: {name} (execução {run_id})"
    counts = ", ".join(
        f"{label} {int(data.get(key) or 0)}"
        for key, label in (
            ("pages_fetched", "páginas"),
            ("created", "criados"),
            ("updated", "atualizados"),
            ("unchanged", "sem mudança"),
            ("rejected", "rejeitados"),
        )
    )
    text = (
        f"A execução {run_id} da fonte {name} (id {source_id}) terminou: {STATUS_WORDS[status]}.\n"
        f"Motivo: {_line(data.get('error'), 500) or '-'}\n{counts}.\n"
        f"Detalhes: GET /collector/runs/{run_id}\n"
    )
    try:
        send_mail([to], subject, text)
    except ValueError:
        log.error("COLLECTOR_ALERT_TO is not an address the SMTP client can send to")
    except MailError as refused:
        if refused.permanent:
            log.error("the collector alert was refused: %s", refused)
            return
        raise Unavailable("The mail server cannot take the collector alert now") from refused
