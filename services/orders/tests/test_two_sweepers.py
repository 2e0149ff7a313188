"""Two copies of orders' relay (SCALE=2) sweeping the same backlog at once, for real on the test
database: each order that never became pending is given up once (one `order.abandoned` each),
whichever copy took it; and the sweep chore runs in one copy at a time."""

import threading
from datetime import timedelta

from sqlalchemy import insert, select, update

from services.kit import utcnow
from services.orders import orders
from services.orders.models import Order, db, outbox

from .conftest import stored_orders


def test_two_sweepers_racing_give_up_each_stale_order_once(client, inventory):
    app = client.application
    with app.app_context():
        db.session.execute(
            insert(Order),
            [{"client_id": 1, "status": "reserving", "total": 0, "created_by": 10}] * 300,
        )
        db.session.execute(update(Order).values(updated_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        ids = set(db.session.scalars(select(Order.id)).all())
        db.session.remove()
    swept = []
    barrier = threading.Barrier(2)

    def sweeper():
        with app.app_context():
            barrier.wait()
            swept.append(orders.sweep(timedelta(seconds=60)))
            db.session.remove()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(swept) == 300
    with app.app_context():
        abandoned = db.session.scalars(
            select(outbox.Event.payload).where(outbox.Event.type == "order.abandoned")
        ).all()
        db.session.remove()
    given_up = [event["data"]["order_id"] for event in abandoned]
    assert sorted(given_up) == sorted(ids), "each order once"
    assert stored_orders(app) == []


def test_the_sweep_chore_runs_in_one_relay_copy_at_a_time(client):
    app = client.application
    # The orders' sweep (each app the session builds adds its own; any one of them will do).
    sweep = next(
        i for i, chore in enumerate(outbox.chores) if "sweep" in chore[1].__code__.co_names
    )
    ran = []
    started = threading.Event()
    release = threading.Event()
    original = outbox.chores[sweep][1]

    def slow_sweep():
        started.set()
        release.wait(5)
        original()

    outbox.chores[sweep][1] = slow_sweep
    try:

        def copy():
            with app.app_context():
                ran.append(outbox.run_chore(sweep))
                db.session.remove()

        first = threading.Thread(target=copy)
        first.start()
        assert started.wait(5)
        copy()
        release.set()
        first.join()
        assert ran == [False, True], "the second copy found the first sweeping and skipped"
    finally:
        outbox.chores[sweep][1] = original
