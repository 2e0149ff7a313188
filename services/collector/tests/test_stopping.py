"""A worker told to stop (SIGTERM, a rollout) during the pause between two requests to a site
gives its run back at once, neither failed nor mailed, and the pause survives it: the next
request to the site, from any worker, waits for what is left of it."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.collector import collecting
from services.collector.collecting import SharedPacer
from services.collector.models import Run, SiteTurn, db, outbox
from services.collector.worker import drain
from services.kit.testing import OUTBOX_SECRET

# Far longer than the stop may take; short enough for the test to wait it out once.
PAUSE_S = 3.0


def working(app, stopping: threading.Event) -> threading.Thread:
    def worker():
        with app.app_context():
            drain(stopping)
            db.session.remove()

    taking = threading.Thread(target=worker, daemon=True)
    taking.start()
    return taking


def first_request(shops, path: str, within_s: float = 5.0) -> dict:
    deadline = time.monotonic() + within_s
    while not shops.requests(path):
        assert time.monotonic() < deadline, f"{path} was never asked"
        time.sleep(0.02)
    return shops.requests(path)[0]


def test_a_stop_during_a_long_pause_gives_the_run_back_at_once_and_the_pause_outlives_it(
    app, client, admin, shops, monkeypatch
):
    body = {
        "name": "Empório pausado",
        "start_urls": [shops.url + "/loja-micro/"],
        "delay_s": str(PAUSE_S),
    }
    source_id = client.post("/collector/sources", json=body, headers=admin).json["id"]
    queued = client.post(f"/collector/sources/{source_id}/runs", headers=admin).json
    stopping = threading.Event()
    taking = working(app, stopping)
    # robots.txt is the run's first request; the start page waits PAUSE_S after it.
    robots = first_request(shops, "/robots.txt")
    time.sleep(0.3)
    stopping.set()
    taking.join(timeout=1)
    assert not taking.is_alive(), "the stop waited for the pause to end"
    assert [asked["path"] for asked in shops.requests()] == ["/robots.txt"]
    with app.app_context():
        run = db.session.get(Run, queued["id"])
        assert (run.status, run.started_at, run.error) == ("queued", None, None)
        assert db.session.scalars(select(outbox.Event)).all() == []  # nothing for the admins
        db.session.remove()

    # Another worker, with a pacer of its own as in another process, takes the run at once; the
    # source no longer asks for a pause, but the one its last request left still holds.
    monkeypatch.setattr(collecting, "SHARED_PACER", SharedPacer())
    answer = client.patch(f"/collector/sources/{source_id}", json={"delay_s": "0"}, headers=admin)
    assert answer.status_code == 200, answer.json
    working(app, threading.Event()).join(timeout=30)
    again = client.get(f"/collector/runs/{queued['id']}", headers=admin).json
    assert again["status"] == "succeeded", again
    after = [asked for asked in shops.requests() if asked["at"] > robots["at"]]
    assert after, "the other worker asked nothing"
    assert after[0]["at"] - robots["at"] >= PAUSE_S - 0.05


# Between the first page and the next: far longer than the worker may take to stop, short enough
# for the test to wait out the pause after robots.txt once.
PAGES_APART_S = 5.0
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_a_worker_process_sent_sigterm_between_pages_exits_at_once_leaving_its_run_queued(
    app, client, admin, own_shop, database, jwt_keys, tmp_path
):
    # What a rollout does: the process `flask worker` (the collector-worker's container) gets
    # SIGTERM while its run waits out the source's delay after the first page.
    own_shop.pages["/loja/"] = '<a href="/loja/2">a seguinte</a>'
    own_shop.pages["/loja/2"] = "<p>nada</p>"
    body = {
        "name": "Empório",
        "start_urls": [own_shop.url + "/loja/"],
        "delay_s": str(PAGES_APART_S),
    }
    source_id = client.post("/collector/sources", json=body, headers=admin).json["id"]
    run_id = client.post(f"/collector/sources/{source_id}/runs", headers=admin).json["id"]
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": database.url("collector"),
        "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
        "OUTBOX_SECRET": OUTBOX_SECRET,
        "COLLECTOR_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "COLLECTOR_POLL_S": "0.2",
        "LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "flask", "--app", "services.collector:create_app", "worker"]
    output = tmp_path / "worker.log"
    with output.open("w") as log:
        worker = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # The first page taken (its count committed): the run now waits before the second.
        deadline = time.monotonic() + 30
        while pages_fetched(app, run_id) < 1:
            assert worker.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.05)
        sent = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=PAGES_APART_S * 2)
        took = time.monotonic() - sent
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert code == 0, output.read_text()
    assert took < PAGES_APART_S / 2, output.read_text()
    assert [asked["path"] for asked in own_shop.asked] == ["/robots.txt", "/loja/"]
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert (run.status, run.started_at, run.error) == ("queued", None, None)
        assert run.pages_fetched == 0  # as before it was taken: the next worker walks it whole
        assert db.session.scalars(select(outbox.Event)).all() == []  # nothing for the admins
        # The pause outlives the process: whichever worker asks the site next waits what is left.
        turn = db.session.get(SiteTurn, own_shop.url)
        assert turn.not_before - turn.ended_at == timedelta(seconds=PAGES_APART_S)
        assert turn.not_before > db.session.scalar(select(func.clock_timestamp()))
        db.session.remove()


def pages_fetched(app, run_id: int) -> int:
    with app.app_context():
        try:
            return db.session.get(Run, run_id).pages_fetched
        finally:
            db.session.remove()
