"""notifications emits nothing, so no relay runs its chores: its sender does. It forgets statuses
kept for ids that never became a notification's after a week, statuses applied after four weeks,
and prunes the inbox's ids as a relay would; each at its interval, not at every pass."""

from datetime import timedelta

from sqlalchemy import select, update

from services.kit import utcnow
from services.kit.testing import deliver
from services.notifications import notifications
from services.notifications.models import EarlyStatus, StatusSeen, db, outbox

from .test_webhooks import post, signed, status_event

ANOTHER_APP, RECENT = "wamid.another-app", "wamid.recent"


def kept(app) -> dict[str, list]:
    with app.app_context():
        found = {
            "early": db.session.scalars(select(EarlyStatus.message_id)).all(),
            "seen": db.session.scalars(select(StatusSeen.message_id)).all(),
            "inbox": db.session.scalars(select(outbox.Processed.type)).all(),
        }
        db.session.remove()
    return {name: sorted(values) for name, values in found.items()}


def aged(app) -> None:
    """Each table holds one row older than it keeps and one recent: an early status and a seen
    one for each id, an inbox id for each event."""
    for wamid in (ANOTHER_APP, RECENT):
        body = status_event(wamid, "delivered")
        assert post(app.test_client(), body, signed(body)).json == {"applied": 0}
    assert deliver(app, "payment.failed", {"order_id": 1, "client_id": 2}).status_code == 200
    assert deliver(app, "order.paid", {"order_id": 1, "client_id": 2}).status_code == 200
    long_ago = utcnow() - notifications.STATUSES_SEEN_KEPT - timedelta(hours=1)
    with app.app_context():
        db.session.execute(
            update(EarlyStatus)
            .where(EarlyStatus.message_id == ANOTHER_APP)
            .values(received_at=long_ago)
        )
        db.session.add(StatusSeen(message_id=ANOTHER_APP, status="read", received_at=long_ago))
        db.session.add(StatusSeen(message_id=RECENT, status="read"))
        db.session.execute(
            update(outbox.Processed)
            .where(outbox.Processed.type == "payment.failed")
            .values(processed_at=long_ago)
        )
        db.session.commit()
        db.session.remove()


def test_the_sender_forgets_old_statuses_and_prunes_old_inbox_ids(client, app):
    aged(app)
    assert kept(app) == {
        "early": [ANOTHER_APP, RECENT],
        "seen": [ANOTHER_APP, RECENT],
        "inbox": ["order.paid", "payment.failed"],
    }
    result = app.test_cli_runner().invoke(args=["sender", "--once"])
    assert result.exit_code == 0, result.output
    assert kept(app) == {"early": [RECENT], "seen": [RECENT], "inbox": ["order.paid"]}


def test_the_sender_runs_a_chore_no_more_often_than_its_interval(client, app):
    last_run: dict[int, float] = {}
    with app.app_context():
        outbox.run_due_chores(last_run)
        db.session.remove()
    aged(app)
    with app.app_context():
        outbox.run_due_chores(last_run)
        db.session.remove()
    assert kept(app)["early"] == [ANOTHER_APP, RECENT]
