"""A worker told to stop (SIGTERM, a rollout) during the pause between two requests to a site
gives its run back at once, neither failed nor mailed, and the pause survives it: the next
request to the site, from any worker, waits for what is left of it."""

import threading
import time

from sqlalchemy import select

from services.collector import collecting
from services.collector.collecting import SharedPacer
from services.collector.models import Run, db, outbox
from services.collector.worker import drain

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
