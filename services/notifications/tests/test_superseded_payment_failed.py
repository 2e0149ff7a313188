"""A failed payment's "try again" is never told after the order was paid or cancelled: payments'
and orders' relays retry apart, so a `payment.failed` may come after `order.paid`. In the order
they happened, both are told."""

import pytest
from sqlalchemy import func, update

from services.notifications.models import Notification, db

from .conftest import PHONE, by_template, order_event, send_due, sent_templates


@pytest.mark.parametrize(
    ("event_type", "template", "what"),
    [("order.paid", "order_paid", "paid"), ("order.cancelled", "order_cancelled", "cancelled")],
)
def test_a_payment_failed_coming_after_the_order_was_paid_or_cancelled_is_never_sent(
    client, app, standin, make_client, event_type, template, what
):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, event_type, 401, buyer["id"])
    assert send_due(app) == 1
    order_event(app, "payment.failed", 401, buyer["id"], code="card_declined", method="card")
    # Decided as it is queued: it never waits in the queue.
    assert by_template(app)["payment_failed"].status == "failed"
    send_due(app)
    assert sent_templates(standin) == [template]
    stale = by_template(app)["payment_failed"]
    assert (stale.status, stale.error) == ("failed", f"superseded: the order was {what}")
    assert stale.attempts == 0


@pytest.mark.parametrize("event_type", ["order.paid", "order.cancelled"])
def test_a_late_payment_failed_is_not_sent_when_both_wait_for_the_sender(
    client, app, standin, make_client, event_type
):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, event_type, 402, buyer["id"])
    order_event(app, "payment.failed", 402, buyer["id"])
    send_due(app)
    assert sent_templates(standin) == [event_type.replace(".", "_")]
    assert by_template(app)["payment_failed"].status == "failed"


def refused_then_paid(app, make_client, order_id: int) -> Notification:
    """The order's payment_failed, refused by the provider (failed), then the order paid and
    told: the payment_failed as it stands."""
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "payment.failed", order_id, buyer["id"])
    with app.app_context():
        db.session.execute(update(Notification).values(status="failed", error="refused"))
        db.session.commit()
        db.session.remove()
    order_event(app, "order.paid", order_id, buyer["id"])
    assert send_due(app) == 1
    return by_template(app)["payment_failed"]


def test_a_payment_failed_superseded_since_it_failed_is_refused_a_retry_and_stays_as_it_was(
    client, app, standin, make_client, admin
):
    failed = refused_then_paid(app, make_client, 405)
    answer = client.post(f"/notifications/{failed.id}/retry", headers=admin)
    assert answer.status_code == 409
    assert answer.json["detail"] == (
        f"Notification {failed.id} will not be sent: the order was paid"
    )
    stays = by_template(app)["payment_failed"]
    assert (stays.status, stays.error) == ("failed", "refused")


def test_a_payment_failed_queued_again_as_the_order_paid_went_out_is_not_sent(
    client, app, standin, make_client
):
    refused_then_paid(app, make_client, 403)
    # An admin's retry that read the order before its payment was told, committed after.
    with app.app_context():
        db.session.execute(
            update(Notification)
            .where(Notification.template == "payment_failed")
            .values(status="queued", error=None, next_attempt_at=func.now())
        )
        db.session.commit()
        db.session.remove()
    assert send_due(app) == 1
    assert sent_templates(standin) == ["order_paid"]
    failed = by_template(app)["payment_failed"]
    assert (failed.status, failed.error) == ("failed", "superseded: the order was paid")


def test_a_payment_failed_then_the_order_paid_are_both_sent_in_that_order(
    client, app, standin, make_client
):
    buyer = make_client(phone=PHONE, opt_in=True)
    order_event(app, "payment.failed", 404, buyer["id"])
    order_event(app, "order.paid", 404, buyer["id"])
    assert send_due(app) == 2
    assert sent_templates(standin) == ["payment_failed", "order_paid"]
