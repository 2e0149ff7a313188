"""What the one on call is told: a failing target's problem detail in its error (so the page, the
summary and the e-mail name what fails), the way to the runbook in the e-mail, "since" with its
date when not today, how much of each uptime window was observed, and routine leadership logged
at INFO, not WARNING."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask, jsonify
from sqlalchemy import text

from monitoring.checks import MAX_DETAIL, CheckResult, check_http
from monitoring.config import parse
from monitoring.notify import Notifier, email_for
from monitoring.worker import Monitor
from services.kit.leader import Leadership
from services.kit.testing import LiveServer

LONG = "Events undelivered longer than 120 s:\n" + ", ".join(
    f"sub{n} (3 waiting)" for n in range(40)
)


@pytest.fixture(scope="module")
def failing():
    app = Flask("failing")

    @app.get("/problem")
    def problem():
        response = jsonify(type="about:blank", title="Service Unavailable", status=503, detail=LONG)
        response.status_code = 503
        response.mimetype = "application/problem+json"
        return response

    @app.get("/plain")
    def plain():
        return {"status": "failing", "detail": "not a problem document"}, 503

    server = LiveServer(app).start()
    yield server.base_url
    server.stop()


def http_target(url: str):
    return parse({"targets": [{"name": "clients-relay", "kind": "http", "url": url}]}, {})


def test_a_problem_answers_detail_is_in_the_error_on_one_line_and_cut(failing):
    target = http_target(f"{failing}/problem").target("clients-relay")
    with requests.Session() as session:
        result = check_http(target, session)
    assert not result.ok
    prefix = "status 503, wanted 200: "
    assert result.error.startswith(
        prefix + "Events undelivered longer than 120 s: sub0 (3 waiting)"
    )
    detail = result.error.removeprefix(prefix)
    assert "\n" not in detail and len(detail) == MAX_DETAIL and detail.endswith("…")


def test_an_answer_that_is_no_problem_document_keeps_the_bare_status(failing):
    target = http_target(f"{failing}/plain").target("clients-relay")
    with requests.Session() as session:
        assert check_http(target, session).error == "status 503, wanted 200"


def test_the_detail_reaches_the_summary_the_page_and_the_incident_e_mail(
    app, session, web, failing
):
    watcher = Monitor(app, http_target(f"{failing}/problem"), Notifier(None))
    watcher.restore()
    for _ in range(3):
        watcher.observe("clients-relay", watcher.run_check("clients-relay"))
    [row] = web.get("/status/api/summary").json["targets"]
    assert "sub0 (3 waiting)" in row["last_error"]
    assert "sub0 (3 waiting)" in web.get("/status").get_data(as_text=True)
    [incident] = web.get("/status/api/summary").json["incidents_open"]
    assert "sub0 (3 waiting)" in incident["error"]
    _, body = email_for("incident.opened", {"target": "clients-relay", **incident})
    assert "sub0 (3 waiting)" in body
    assert 'What to do: README.md, section "On call"' in body


def test_since_has_its_date_when_it_is_not_today_and_each_uptime_its_observed_time(
    app, session, web
):
    watcher = Monitor(
        app,
        parse(
            {"targets": [{"name": "postgres", "kind": "postgres", "dsn": "postgresql://x@h/x"}]}, {}
        ),
        Notifier(None),
    )
    watcher.restore()
    now = datetime.now(UTC).replace(microsecond=0)
    # Observed for an hour and a half only of the last day: the worker was not running else.
    for index in range(360):
        at = now - timedelta(minutes=90) + timedelta(seconds=15 * index)
        watcher.observe("postgres", CheckResult(True, 4.0, checked_at=at))
    watcher.beat()
    yesterday = now - timedelta(days=1, minutes=5)
    session.execute(
        text("UPDATE monitoring.targets SET state_since = :at WHERE name = 'postgres'"),
        {"at": yesterday},
    )
    session.commit()
    page = web.get("/status").get_data(as_text=True)
    assert f"since {yesterday:%Y-%m-%d %H:%M:%S}" in page
    assert "observed 1 h 30 min of 24 h" in page or "observed 1 h 29 min of 24 h" in page
    [row] = web.get("/status/api/summary").json["targets"]
    assert row["uptime"]["24h"] == 100.0
    assert 5300 < row["observed_s"]["24h"] <= 5400


def test_since_today_is_the_time_alone(app, session, web):
    watcher = Monitor(
        app,
        parse(
            {"targets": [{"name": "postgres", "kind": "postgres", "dsn": "postgresql://x@h/x"}]}, {}
        ),
        Notifier(None),
    )
    watcher.restore()
    now = datetime.now(UTC).replace(microsecond=0)
    watcher.observe("postgres", CheckResult(True, 4.0, checked_at=now))
    watcher.observe("postgres", CheckResult(True, 4.0, checked_at=now))
    session.execute(
        text("UPDATE monitoring.targets SET state_since = :at WHERE name = 'postgres'"),
        {"at": now},
    )
    session.commit()
    assert f"since {now:%H:%M:%S}<" in web.get("/status").get_data(as_text=True)


def test_taking_the_lead_is_routine_info_not_a_warning(app, session, caplog):
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    leadership = Leadership(engine, "feira:test:on-call", poll=0)
    watcher = Monitor(app, http_target("http://127.0.0.1:1/"), Notifier(None))
    watcher.leadership = leadership
    try:
        with caplog.at_level(logging.INFO):
            assert watcher.leads()
        leading = [
            r
            for r in caplog.records
            if r.getMessage() in {"leading", "this worker leads: checking every target"}
        ]
        assert {r.getMessage() for r in leading} == {
            "leading",
            "this worker leads: checking every target",
        }
        assert {r.levelname for r in leading} == {"INFO"}
    finally:
        leadership.release()
