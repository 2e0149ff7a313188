"""Stopping a run (POST /collector/runs/{id}/cancel): a queued run is cancelled at once and never
fetches a page, whichever of the worker's claim and the cancel comes first; a running one ends
`cancelled` within a page, keeping what it made and its counts; an ended run is a 409 naming
its status; users are refused; a dead worker's run that was asked to stop ends cancelled."""

import threading
import time

from sqlalchemy import select, text

from services.collector import collecting, sources
from services.collector.models import Run, db, outbox
from services.collector.worker import drain, recover, take_and_run

from .test_runs import add_source, catalogue, run_now

# Between two pages of the big shop: the test sees the run between them.
PAGES_APART_S = 0.3


def cancel(client, headers, run_id):
    return client.post(f"/collector/runs/{run_id}/cancel", headers=headers)


def queue(client, admin, source_id) -> dict:
    queued = client.post(f"/collector/sources/{source_id}/runs", headers=admin)
    assert queued.status_code == 202, queued.json
    return queued.json


def read(app, run_id) -> Run:
    with app.app_context():
        run = db.session.get(Run, run_id)
        db.session.expunge(run)
        db.session.remove()
        return run


def ended_events(app) -> list[dict]:
    with app.app_context():
        events = db.session.scalars(
            select(outbox.Event).where(outbox.Event.type == "collector.run.finished")
        ).all()
        return [event.payload["data"] for event in events]


def working(app) -> threading.Thread:
    def worker():
        with app.app_context():
            drain(threading.Event())
            db.session.remove()

    taking = threading.Thread(target=worker, daemon=True)
    taking.start()
    return taking


def test_a_queued_run_cancelled_is_never_fetched_and_its_source_may_run_again(
    app, client, admin, shops
):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    run = queue(client, admin, source_id)

    answer = cancel(client, admin, run["id"])

    assert answer.status_code == 202, answer.json
    stopped = answer.json
    assert stopped["status"] == "cancelled"
    assert stopped["error"] == "cancelled by user 1 before it started"
    assert stopped["cancel_requested_by"] == 1
    assert stopped["finished_at"] and stopped["cancel_requested_at"]
    assert stopped["started_at"] is None
    with app.app_context():
        assert not take_and_run()
    assert shops.requests() == []
    assert client.get(f"/collector/runs/{run['id']}", headers=admin).json == stopped
    assert [event["status"] for event in ended_events(app)] == ["cancelled"]
    # No longer holding its source: a new run may start.
    again = queue(client, admin, source_id)
    with app.app_context():
        assert take_and_run()
    assert client.get(f"/collector/runs/{again['id']}", headers=admin).json["status"] == (
        "succeeded"
    )


def test_a_running_run_asked_to_stop_ends_cancelled_within_a_page_keeping_what_it_made(
    app, client, admin, shops, products_app
):
    source_id = add_source(
        client, admin, shops, "/loja-grande/", delay_s=str(PAGES_APART_S), max_pages=40
    )
    run_id = queue(client, admin, source_id)["id"]
    taking = working(app)
    deadline = time.monotonic() + 20
    while read(app, run_id).created < 2:
        assert time.monotonic() < deadline, "the run created nothing"
        time.sleep(0.02)

    answer = cancel(client, admin, run_id)

    assert answer.status_code == 202, answer.json
    asked = answer.json
    assert (asked["status"], asked["cancel_requested_by"]) == ("running", 1)
    assert asked["cancel_requested_at"] and asked["finished_at"] is None
    # Still running until its worker sees it: its source takes no second run meanwhile.
    second = client.post(f"/collector/sources/{source_id}/runs", headers=admin)
    assert second.status_code == 409
    taking.join(timeout=10)
    assert not taking.is_alive(), "the run went on after it was asked to stop"
    run = client.get(f"/collector/runs/{run_id}", headers=admin).json
    assert (run["status"], run["error"]) == ("cancelled", "stopped by user 1")
    assert run["finished_at"]
    # The page under way when it was asked is the last: at most one more.
    assert asked["pages_fetched"] <= run["pages_fetched"] <= asked["pages_fetched"] + 1
    pages = [r for r in shops.requests("/loja-grande/") if r["path"] != "/robots.txt"]
    assert len(pages) == run["pages_fetched"] < 40
    # What it made stays, and its counts say so.
    assert run["created"] >= 2
    assert len(catalogue(products_app)) == run["created"]
    assert [(e["status"], e["created"]) for e in ended_events(app)] == [
        ("cancelled", run["created"])
    ]
    assert queue(client, admin, source_id)["status"] == "queued"


def test_a_run_the_worker_is_claiming_is_asked_to_stop_not_cancelled_under_it(
    app, client, admin, shops
):
    # The worker has locked the queued run (FOR UPDATE SKIP LOCKED) and waits, before it
    # commits it `running`, for the run's advisory lock, which the test holds; the cancel then
    # waits for the row. Once the worker has it, the cancel finds the run running: it asks it
    # to stop, and the worker ends it before any page.
    source_id = add_source(client, admin, shops, "/loja-micro/")
    run_id = queue(client, admin, source_id)["id"]
    answers = []
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(17017, :r)"), {"r": run_id})
        taking = working(app)
        waiting_for(app, 1)  # the worker, holding the row, waits for the advisory lock
        cancelling = threading.Thread(target=lambda: answers.append(cancel(client, admin, run_id)))
        cancelling.start()
        waiting_for(app, 2)  # and the cancel for the row
        holder.commit()
    cancelling.join(timeout=10)
    taking.join(timeout=10)

    answer = answers[0]
    assert answer.status_code == 202, answer.json
    assert (answer.json["status"], answer.json["started_at"] is not None) == ("running", True)
    run = read(app, run_id)
    assert (run.status, run.error, run.pages_fetched) in [
        ("cancelled", "stopped by user 1", 0),
        ("cancelled", "stopped by user 1", 1),
    ]
    assert len([r for r in shops.requests("/loja-micro/") if r["path"] != "/robots.txt"]) <= 1


def test_a_run_being_cancelled_is_not_claimed_by_the_worker(app, client, admin, shops, monkeypatch):
    # The cancel has locked the queued run and not committed yet: the worker passes it by.
    source_id = add_source(client, admin, shops, "/loja-micro/")
    run_id = queue(client, admin, source_id)["id"]
    locked, go_on = threading.Event(), threading.Event()
    real_finish = sources.finish

    def finish_slowly(run):
        real_finish(run)
        locked.set()
        go_on.wait(timeout=10)

    monkeypatch.setattr(sources, "finish", finish_slowly)
    answers = []
    cancelling = threading.Thread(target=lambda: answers.append(cancel(client, admin, run_id)))
    cancelling.start()
    assert locked.wait(timeout=10)
    with app.app_context():
        assert not take_and_run()
        db.session.remove()
    go_on.set()
    cancelling.join(timeout=10)

    assert answers[0].status_code == 202
    assert answers[0].json["status"] == "cancelled"
    with app.app_context():
        assert not take_and_run()
    assert read(app, run_id).status == "cancelled"
    assert shops.requests() == []


def waiting_for(app, count: int) -> None:
    """Until `count` statements wait for a lock another holds."""
    blocked = text("SELECT count(*) FROM pg_stat_activity WHERE pg_blocking_pids(pid) <> '{}'")
    deadline = time.monotonic() + 10
    with app.app_context(), db.engine.connect() as watcher:
        while watcher.execute(blocked).scalar_one() < count:
            assert time.monotonic() < deadline, f"fewer than {count} waiting"
            watcher.rollback()
            time.sleep(0.01)


def test_an_ended_run_is_a_409_naming_its_status(app, client, admin, shops):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    run = run_now(app, client, admin, source_id)
    assert run["status"] == "succeeded"

    answer = cancel(client, admin, run["id"])

    assert answer.status_code == 409
    assert answer.content_type == "application/problem+json"
    assert answer.json["current_status"] == "succeeded"
    assert answer.json["detail"] == (
        f"Run {run['id']} is succeeded: only a queued or running run can be stopped"
    )
    assert client.get(f"/collector/runs/{run['id']}", headers=admin).json == run
    cancelled = queue(client, admin, source_id)["id"]
    assert cancel(client, admin, cancelled).status_code == 202
    again = cancel(client, admin, cancelled)
    assert (again.status_code, again.json["current_status"]) == (409, "cancelled")


def test_a_user_may_not_stop_a_run_and_an_unknown_run_is_a_404(app, client, admin, user, shops):
    run_id = queue(client, admin, add_source(client, admin, shops, "/loja-micro/"))["id"]

    assert cancel(client, user, run_id).status_code == 403
    assert client.post(f"/collector/runs/{run_id}/cancel").status_code == 401
    assert read(app, run_id).status == "queued"
    missing = cancel(client, admin, run_id + 1000)
    assert (missing.status_code, missing.json["detail"]) == (
        404,
        f"Run {run_id + 1000} does not exist",
    )


def test_a_dead_workers_run_that_was_asked_to_stop_ends_cancelled_not_failed(
    app, client, admin, shops
):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    run_id = queue(client, admin, source_id)["id"]
    with app.app_context():
        db.session.get(Run, run_id).status = "running"
        db.session.commit()
    assert cancel(client, admin, run_id).json["status"] == "running"
    with app.app_context():
        assert recover() == 1
    run = read(app, run_id)
    assert (run.status, run.error) == ("cancelled", "stopped by user 1")
    assert run.finished_at is not None


def test_a_worker_stopping_gives_back_no_run_that_was_asked_to_stop(
    app, client, admin, shops, monkeypatch
):
    # SIGTERM (a rollout) and a cancel of the same run, the stop seen first (the worker does not
    # read the ask between pages here): it ends cancelled, not queued again for another worker.
    monkeypatch.setattr(collecting.Collection, "cancel_requested", lambda self: False)
    source_id = add_source(client, admin, shops, "/loja-grande/", delay_s="0.2")
    run_id = queue(client, admin, source_id)["id"]
    stopping = threading.Event()

    def worker():
        with app.app_context():
            drain(stopping)
            db.session.remove()

    taking = threading.Thread(target=worker, daemon=True)
    taking.start()
    deadline = time.monotonic() + 20
    while read(app, run_id).pages_fetched < 1:
        assert time.monotonic() < deadline, "the run fetched nothing"
        time.sleep(0.02)
    with app.app_context():
        db.session.execute(
            text("UPDATE collector.runs SET cancel_requested_at = now(), cancel_requested_by = 1")
        )
        db.session.commit()
        db.session.remove()
    stopping.set()
    taking.join(timeout=5)
    assert not taking.is_alive()

    run = read(app, run_id)
    assert (run.status, run.error) == ("cancelled", "stopped by user 1")
    assert run.pages_fetched >= 1
    with app.app_context():
        assert not take_and_run()


def test_a_cancelled_run_is_counted_and_leaves_the_sources_health_to_the_run_before(
    app, client, admin, shops
):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    assert run_now(app, client, admin, source_id)["status"] == "succeeded"
    cancelled = queue(client, admin, source_id)["id"]
    assert cancel(client, admin, cancelled).json["status"] == "cancelled"

    body = client.get("/metrics").get_data(as_text=True)
    assert 'feira_collector_runs_total{source="/loja-micro/",status="cancelled"} 1.0' in body
    assert 'feira_collector_runs_total{source="/loja-micro/",status="succeeded"} 1.0' in body
    # An admin's stop says nothing of the shop: the source is as healthy as its last run was.
    assert 'feira_collector_source_healthy{source="/loja-micro/"} 1.0' in body
    assert client.get(f"/health/sources/{source_id}").status_code == 200
    listed = client.get("/collector/runs?status=cancelled", headers=admin).json
    assert [run["id"] for run in listed["items"]] == [cancelled]
