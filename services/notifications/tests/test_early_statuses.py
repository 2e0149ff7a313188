"""A WhatsApp status that comes before the sender has recorded the message id the provider
answered (Meta may report `sent` at once) is kept, and applied by the same rules when the sender
records the id; kept ones of ids that never become ours are forgotten after a week."""

from datetime import timedelta

from sqlalchemy import select, text, update

from services.kit import utcnow
from services.kit.testing import answered_behind
from services.notifications import notifications, whatsapp
from services.notifications.models import EarlyStatus, Notification, StatusSeen, db, outbox

from .conftest import order_event, rows, send_one
from .test_webhooks import post, signed, status_event

WAMID = "wamid.early1"


def statuses_first(monkeypatch, client, *bodies, wamid: str = WAMID) -> None:
    """The provider accepts the send as `wamid`, and its status webhooks (`bodies`) reach
    notifications before it answers, so before the sender can record the id."""

    def send_template(to, template, parameters):
        for body in bodies:
            answer = post(client, body, signed(body))
            assert (answer.status_code, answer.json) == (200, {"applied": 0})
        return wamid

    monkeypatch.setattr(whatsapp, "send_template", send_template)


def queued_for_whatsapp(app, make_client, order_id: int = 401) -> None:
    buyer = make_client(phone="11912345678", opt_in=True)
    order_event(app, "order.paid", order_id, buyer["id"])


def kept(app) -> list[tuple[str, str]]:
    with app.app_context():
        found = db.session.execute(
            select(EarlyStatus.message_id, EarlyStatus.status).order_by(EarlyStatus.received_at)
        ).all()
        db.session.remove()
        return [tuple(row) for row in found]


def seen(app, wamid: str = WAMID) -> list[str]:
    with app.app_context():
        found = db.session.scalars(
            select(StatusSeen.status).where(StatusSeen.message_id == wamid)
        ).all()
        db.session.remove()
        return sorted(found)


def test_a_delivered_status_before_the_send_is_recorded_is_applied_when_it_is(
    client, app, make_client, monkeypatch
):
    queued_for_whatsapp(app, make_client)
    statuses_first(
        monkeypatch, client, status_event(WAMID, "sent"), status_event(WAMID, "delivered")
    )
    assert send_one(app)
    [row] = rows(app)
    assert (row.provider_ref, row.status, row.error) == (WAMID, "delivered", None)
    assert kept(app) == []
    assert seen(app) == ["delivered", "sent"]


def test_a_failed_status_before_the_send_is_recorded_fails_it_with_its_error(
    client, app, make_client, monkeypatch
):
    queued_for_whatsapp(app, make_client)
    failed = status_event(
        WAMID, "failed", errors=[{"code": 131026, "title": "Message undeliverable"}]
    )
    statuses_first(monkeypatch, client, failed)
    assert send_one(app)
    [row] = rows(app)
    assert (row.status, row.error) == ("failed", "Message undeliverable (code 131026)")
    assert kept(app) == []


def test_an_early_status_received_twice_is_applied_once(client, app, make_client, monkeypatch):
    delivered = status_event(WAMID, "delivered")
    queued_for_whatsapp(app, make_client)
    statuses_first(monkeypatch, client, delivered, delivered)
    assert send_one(app)
    assert rows(app)[0].status == "delivered"
    assert kept(app) == []
    # The same status once more, now that the id is known: already applied.
    assert post(client, delivered, signed(delivered)).json == {"applied": 0}
    assert seen(app) == ["delivered"]


def test_a_status_kept_while_the_sender_records_the_id_is_applied_by_the_sender(
    client, app, make_client, monkeypatch
):
    """The webhook has looked (no notification yet) and not yet committed the status it keeps
    when the sender records the id: the sender waits for it, then applies it."""
    queued_for_whatsapp(app, make_client)
    monkeypatch.setattr(whatsapp, "send_template", lambda to, template, parameters: WAMID)
    with app.app_context(), db.engine.connect() as webhook:
        webhook.execute(
            notifications.MESSAGE_TURN, {"name": notifications.message_turn_name(WAMID)}
        )
        webhook.execute(
            text(
                "INSERT INTO notifications.early_statuses (message_id, status) VALUES (:id, 'read')"
            ),
            {"id": WAMID},
        )
        assert answered_behind(app, webhook, notifications.send_one) is True
    [row] = rows(app)
    assert (row.provider_ref, row.status) == (WAMID, "read")
    assert kept(app) == []


def test_a_status_that_comes_while_the_sender_records_the_id_is_applied_by_the_webhook(
    client, app, make_client
):
    """The sender has written the id and taken its turn, not yet committed, when the webhook
    comes: the webhook waits for it, then finds the notification."""
    queued_for_whatsapp(app, make_client)
    delivered = status_event(WAMID, "delivered")
    with app.app_context(), db.engine.connect() as sender:
        sender.execute(
            update(Notification).values(status="sent", channel="whatsapp", provider_ref=WAMID)
        )
        sender.execute(notifications.MESSAGE_TURN, {"name": notifications.message_turn_name(WAMID)})
        answer = answered_behind(
            app,
            sender,
            lambda: (
                app.test_client()
                .post("/notifications/webhooks/whatsapp", data=delivered, headers=signed(delivered))
                .json
            ),
        )
    assert answer == {"applied": 1}
    assert rows(app)[0].status == "delivered"
    assert kept(app) == []


def test_a_status_for_an_id_that_never_becomes_ours_is_forgotten_after_a_week(client, app):
    for wamid in ("wamid.another-app", "wamid.recent"):
        body = status_event(wamid, "delivered")
        assert post(client, body, signed(body)).json == {"applied": 0}
    assert kept(app) == [("wamid.another-app", "delivered"), ("wamid.recent", "delivered")]
    with app.app_context():
        db.session.execute(
            update(EarlyStatus)
            .where(EarlyStatus.message_id == "wamid.another-app")
            .values(received_at=utcnow() - notifications.EARLY_STATUSES_KEPT - timedelta(hours=1))
        )
        db.session.commit()
        # The sender's chore (each create_app registers it once more: any copy will do).
        index = next(
            i
            for i, (_, task) in enumerate(outbox.chores)
            if task == notifications.forget_early_statuses
        )
        assert outbox.run_chore(index)
        db.session.remove()
    assert kept(app) == [("wamid.recent", "delivered")]
