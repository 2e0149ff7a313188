"""Only what the client is meant to read reaches it: a shipped or delivered order's note (a
tracking code); the note orders puts in every other step's event is the shop's own record ("payment
7", "PIX expired", an admin's words) and is never sent. The events are as orders emits them
(services/orders/events.py, payments.py, workflow.py). Notes kept before these rules (the shop's,
a failed payment's English reason) are migrated so a retry sends none of them."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, select

from services.notifications.models import Notification, db

from .conftest import order_event, rows, send_due

LINES = [{"product_id": 3, "quantity": 2}]


def paid_by_payment(app, order_id: int, client_id: int, payment_id: int) -> None:
    """orders' `order.paid` when payments' `payment.succeeded` paid it (orders/payments.py)."""
    order_event(
        app,
        "order.paid",
        order_id,
        client_id,
        note=f"payment {payment_id}",
        items=LINES,
        paid_at="2026-12-05T10:00:00+00:00",
        payment_id=payment_id,
    )


def cancelled(app, order_id: int, client_id: int, note: str) -> None:
    """orders' `order.cancelled`: a PIX expired ("PIX expired"), or an admin's note."""
    order_event(
        app,
        "order.cancelled",
        order_id,
        client_id,
        note=note,
        previous_status="pending",
        items=LINES,
    )


def test_a_card_payment_tells_the_client_it_was_paid_and_no_payment_id(
    client, app, standin, make_client
):
    buyer = make_client(phone="(11) 91234-5678", opt_in=True)
    paid_by_payment(app, 101, buyer["id"], payment_id=7)
    assert send_due(app) == 1
    [sent] = standin.messages(to="5511912345678")
    assert sent["template"] == "order_paid"
    assert sent["parameters"] == [buyer["name"], "101", "R$ 60,50", "-"]


def test_an_expired_pix_mails_the_cancel_without_the_shops_english_note(
    client, app, make_client, smtp_sink
):
    buyer = make_client(email="ana@example.com")
    cancelled(app, 102, buyer["id"], "PIX expired")
    assert send_due(app) == 1
    [mail] = smtp_sink.messages(to="ana@example.com")
    assert mail["text"].strip().endswith("Seu pedido 102 (R$ 60,50) foi cancelado.")
    assert "PIX" not in mail["text"] and "-" not in mail["text"]


@pytest.mark.parametrize("event_type", ["order.cancelled", "order.paid"])
def test_an_admins_note_on_a_cancel_or_a_payment_by_hand_stays_with_the_shop(
    client, app, standin, make_client, event_type
):
    buyer = make_client(phone="11912345678", opt_in=True)
    order_event(app, event_type, 103, buyer["id"], note="suspeita de fraude", items=LINES)
    assert send_due(app) == 1
    [sent] = standin.messages(to="5511912345678")
    assert sent["parameters"][3] == "-"
    assert rows(app)[0].parameters["note"] == ""


@pytest.mark.parametrize("event_type", ["order.shipped", "order.delivered"])
def test_a_shipped_or_delivered_orders_tracking_code_reaches_the_client(
    client, app, standin, make_client, event_type
):
    buyer = make_client(phone="11912345678", opt_in=True)
    order_event(app, event_type, 104, buyer["id"], note="Rastreio BR123456789BR")
    assert send_due(app) == 1
    [sent] = standin.messages(to="5511912345678")
    assert sent["parameters"][3] == "Rastreio BR123456789BR"


def test_the_shops_notes_kept_before_are_dropped_so_a_retry_sends_none(client, app):
    notes = {"order_paid": "payment 7", "order_cancelled": "PIX expired", "order_shipped": "BR1"}
    with app.app_context():
        downgrade(revision="83b8837f12b4")
        try:
            for order_id, (template, note) in enumerate(notes.items(), start=1):
                db.session.execute(
                    insert(Notification).values(
                        template=template,
                        order_id=order_id,
                        client_id=7,
                        status="failed",
                        parameters={"total": "60.50", "status": "", "note": note},
                    )
                )
            db.session.commit()
        finally:
            db.session.remove()
            upgrade()
        kept = dict(
            db.session.execute(select(Notification.template, Notification.parameters)).all()
        )
        db.session.remove()
    assert {template: kept[template]["note"] for template in notes} == {
        "order_paid": "",
        "order_cancelled": "",
        "order_shipped": "BR1",
    }


def kept_before_portuguese_notes(app, *notifications: dict) -> None:
    """Rows as the app kept them before this migration, then migrated to head."""
    with app.app_context():
        downgrade(revision="5e0c9b7a2d14")
        try:
            for values in notifications:
                db.session.execute(insert(Notification).values(template="payment_failed", **values))
            db.session.commit()
        finally:
            db.session.remove()
            upgrade()
        db.session.remove()


ENGLISH = "Your card has insufficient funds."
# The advice as 8800c9a98f10 wrote it, spelled out rather than read from the app: what the
# migration did stays what it did when the app's wording changes.
ADVICE = "Tente novamente ou escolha outra forma de pagamento."
CARD = "Tente novamente com outro cartão ou com outra forma de pagamento."
PIX = "Gere um novo PIX ou escolha outra forma de pagamento."


def test_an_old_failed_payments_english_reason_retried_sends_the_portuguese_advice(
    client, app, standin, make_client, admin
):
    buyer = make_client(phone="11912345678", opt_in=True)
    kept_before_portuguese_notes(
        app,
        {
            "order_id": 105,
            "client_id": buyer["id"],
            "status": "failed",
            "error": "Gave up after 5 attempts: 429",
            "parameters": {"total": "60.50", "status": "", "note": ENGLISH},
        },
    )
    [row] = rows(app)
    assert client.post(f"/notifications/{row.id}/retry", headers=admin).status_code == 200
    assert send_due(app) == 1
    [sent] = standin.messages(to="5511912345678")
    assert sent["parameters"] == [buyer["name"], "105", "R$ 60,50", ADVICE]


@pytest.mark.parametrize(
    ("status", "channel", "note", "after"),
    [
        ("queued", None, ENGLISH, ADVICE),
        ("queued", None, "", ADVICE),
        ("failed", "email", ENGLISH, ADVICE),
        # Meta may still report it failed, and an admin retry it.
        ("sent", "whatsapp", ENGLISH, ADVICE),
        # What a PIX was told before the advice followed the method.
        ("failed", None, CARD, ADVICE),
        # What the client was told stays.
        ("sent", "email", ENGLISH, ENGLISH),
        ("delivered", "whatsapp", ENGLISH, ENGLISH),
        ("read", "whatsapp", ENGLISH, ENGLISH),
        # Written in Portuguese from the code and method already.
        ("failed", None, f"O cartão está vencido. {CARD}", None),
        ("failed", None, PIX, None),
        ("queued", None, f"O banco recusou o cartão. {ADVICE}", None),
    ],
)
def test_an_old_failed_payments_note_that_may_still_be_sent_becomes_the_portuguese_advice(
    client, app, status, channel, note, after
):
    kept_before_portuguese_notes(
        app,
        {
            "order_id": 106,
            "client_id": 7,
            "status": status,
            "channel": channel,
            "parameters": {"total": "60.50", "status": "", "note": note},
        },
    )
    [row] = rows(app)
    assert row.parameters["note"] == (note if after is None else after)
