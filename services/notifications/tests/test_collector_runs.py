"""A collector run that failed or was partial is mailed to COLLECTOR_ALERT_TO; one that
succeeded is not; a mail server that cannot take it now makes the event come again."""

import pytest

from services.kit.testing import deliver, unreachable_url

RUN = {
    "run_id": 7,
    "source_id": 3,
    "source_name": "Loja Instável",
    "status": "partial",
    "error": "5 pages or products rejected",
    "pages_fetched": 7,
    "created": 1,
    "updated": 0,
    "unchanged": 0,
    "rejected": 5,
}


@pytest.fixture
def alert_to(app, monkeypatch):
    monkeypatch.setitem(app.config, "COLLECTOR_ALERT_TO", "admin@feira.local")


def test_a_partial_run_is_mailed_to_the_admins_with_its_reason(client, app, smtp_sink, alert_to):
    assert deliver(app, "collector.run.finished", RUN).json["status"] == "processed"
    [mail] = smtp_sink.messages(to="admin@feira.local")
    assert mail["subject"] == "Coleta parcial: Loja Instável (execução 7)"
    assert "5 pages or products rejected" in mail["text"]
    assert "rejeitados 5" in mail["text"]


def test_a_failed_run_is_mailed_too(client, app, smtp_sink, alert_to):
    deliver(app, "collector.run.finished", {**RUN, "status": "failed", "error": "HTTP 500"})
    [mail] = smtp_sink.messages(to="admin@feira.local")
    assert mail["subject"].startswith("Coleta falhou: Loja Instável")


def test_a_run_that_succeeded_is_not_mailed(client, app, smtp_sink, alert_to):
    deliver(app, "collector.run.finished", {**RUN, "status": "succeeded", "rejected": 0})
    assert smtp_sink.messages(to="admin@feira.local") == []


def test_a_mail_server_that_cannot_be_reached_makes_the_event_come_again(
    client, app, alert_to, monkeypatch
):
    port = unreachable_url().rsplit(":", 1)[1]
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", port)
    first = deliver(
        app, "collector.run.finished", RUN, event_id="0b4e7b1e-7d1a-4d56-9d0e-1f2a3b4c5d6e"
    )
    assert first.status_code == 503


def test_an_event_it_cannot_read_is_rejected_not_retried(client, app, smtp_sink, alert_to):
    answer = deliver(app, "collector.run.finished", {**RUN, "run_id": "sete"})
    assert answer.json["status"] == "rejected"
    assert smtp_sink.messages(to="admin@feira.local") == []
