"""Two copies of orders' relay (SCALE=2) sweeping the same backlog at once, for real on the test
database: each order that never became pending is given up once (one `order.abandoned` each),
whichever copy took it; and the sweep chore runs in one copy at a time."""

from datetime import timedelta

from sqlalchemy import insert, select, update

from services.kit import utcnow
from services.kit.testing import at_once, chore_asked_while_running
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
    swept = at_once(app, lambda: orders.sweep(timedelta(seconds=60)))
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
    ran = chore_asked_while_running(app, outbox, sweep)
    assert ran == [False, True], "the second copy found the first sweeping and skipped"
