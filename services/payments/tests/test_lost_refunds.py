"""A refund whose answer was lost (the request died after the provider made it): the next refund,
a cancellation or reconciliation asks the provider for that same refund again (its key, its
amount), so it is recorded once, the rest can still be refunded, and nothing goes back twice."""

from datetime import timedelta

import pytest
from sqlalchemy import func, update

from services.kit.failpoints import Crash
from services.kit.testing import deliver
from services.payments.models import RefundAsk, db

from .conftest import emitted, standin_events
from .test_paying import pay
from .test_webhooks import read, run_chores


def refunds_at_provider(standin, intent_id: str) -> list[int]:
    """The amount the provider says is refunded after each of its refunds (in cents), oldest
    first."""
    return [
        record["event"]["data"]["object"]["amount_refunded"]
        for record in reversed(standin_events(standin, intent_id))
        if record["type"] == "charge.refunded"
    ]


@pytest.fixture
def paid(client, user, order):
    """A card payment of 60.50 that succeeded."""
    payment = pay(client, user, order()["id"]).json
    assert payment["status"] == "succeeded" and payment["amount"] == "60.50"
    return payment


def refund_answer_lost(client, admin, payment, amount: str):
    """An admin's refund of `amount` that the provider makes, the request dying before its
    answer is recorded."""
    client.application.config["FAILPOINTS"] = {"payments.refund_answered"}
    try:
        with pytest.raises(Crash):
            client.post(f"/payments/{payment['id']}/refund", json={"amount": amount}, headers=admin)
    finally:
        client.application.config.pop("FAILPOINTS")


def test_all_that_is_left_after_a_refund_whose_answer_was_lost_is_that_refund_and_the_rest(
    client, admin, paid, standin
):
    refund_answer_lost(client, admin, paid, "10.00")

    rest = client.post(f"/payments/{paid['id']}/refund", json={}, headers=admin)

    assert rest.status_code == 200, rest.json
    assert (rest.json["status"], rest.json["refunded_amount"]) == ("refunded", "60.50")
    assert refunds_at_provider(standin, paid["provider_ref"]) == [1000, 6050]


def test_a_refund_asked_again_after_its_answer_was_lost_is_made_once(
    client, admin, paid, standin, app
):
    refund_answer_lost(client, admin, paid, "10.00")

    again = client.post(f"/payments/{paid['id']}/refund", json={"amount": "10.00"}, headers=admin)

    assert again.status_code == 200, again.json
    assert (again.json["status"], again.json["refunded_amount"]) == ("partially_refunded", "10.00")
    assert refunds_at_provider(standin, paid["provider_ref"]) == [1000]
    assert [e["amount"] for e in emitted(app, "payment.refunded")] == ["10.00"]


def test_another_amount_after_a_refund_whose_answer_was_lost_makes_only_the_earlier_one(
    client, admin, paid, standin
):
    refund_answer_lost(client, admin, paid, "10.00")

    other = client.post(f"/payments/{paid['id']}/refund", json={"amount": "5.00"}, headers=admin)

    assert other.status_code == 409
    assert other.headers["Content-Type"] == "application/problem+json"
    assert "10.00" in other.json["detail"]
    assert read(client, paid["id"], admin)["refunded_amount"] == "10.00"
    assert refunds_at_provider(standin, paid["provider_ref"]) == [1000]
    more = client.post(f"/payments/{paid['id']}/refund", json={"amount": "5.00"}, headers=admin)
    assert more.status_code == 200 and more.json["refunded_amount"] == "15.00"


def test_reconciliation_records_a_refund_whose_answer_was_lost(client, admin, paid, standin, app):
    refund_answer_lost(client, admin, paid, "10.00")
    app.config["PAYMENTS_RECONCILE_AFTER_S"], after = 0, app.config["PAYMENTS_RECONCILE_AFTER_S"]
    try:
        assert run_chores(app) >= 1
    finally:
        app.config["PAYMENTS_RECONCILE_AFTER_S"] = after

    # Recorded: another amount is a refund of its own, no longer a 409.
    other = client.post(f"/payments/{paid['id']}/refund", json={"amount": "5.00"}, headers=admin)
    assert other.status_code == 200, other.json
    assert other.json["refunded_amount"] == "15.00"
    assert refunds_at_provider(standin, paid["provider_ref"]) == [1000, 1500]


def test_a_cancelled_order_whose_refund_answer_was_lost_gets_back_all_of_it_once(
    client, admin, user, order, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    refund_answer_lost(client, admin, payment, "10.00")

    event = {"order_id": placed["id"], "previous_status": "paid"}
    assert deliver(app, "order.cancelled", event).json["status"] == "processed"

    refunded = read(client, payment["id"], admin)
    assert (refunded["status"], refunded["refunded_amount"]) == ("refunded", "60.50")
    assert refunds_at_provider(standin, payment["provider_ref"]) == [1000, 6050]


def test_a_refund_unanswered_for_longer_than_the_provider_keeps_keys_is_flagged_not_asked_again(
    client, admin, paid, app
):
    refund_answer_lost(client, admin, paid, "10.00")
    with app.app_context():
        db.session.execute(
            update(RefundAsk)
            .where(RefundAsk.payment_id == paid["id"])
            .values(asked_at=func.now() - timedelta(hours=24))
        )
        db.session.commit()
        db.session.remove()

    # Asked again, the earlier one would answer this with a 409: its key may be forgotten.
    other = client.post(f"/payments/{paid['id']}/refund", json={"amount": "5.00"}, headers=admin)

    assert other.status_code == 200, other.json
    flagged = read(client, paid["id"], admin)
    assert flagged["needs_review"] is True
    assert "10.00" in flagged["review_reason"]


def test_all_that_is_left_asked_again_after_its_answer_was_lost_is_made_once(
    client, admin, paid, standin
):
    client.application.config["FAILPOINTS"] = {"payments.refund_answered"}
    try:
        with pytest.raises(Crash):
            client.post(f"/payments/{paid['id']}/refund", json={}, headers=admin)
    finally:
        client.application.config.pop("FAILPOINTS")

    again = client.post(f"/payments/{paid['id']}/refund", json={}, headers=admin)

    assert again.status_code == 200, again.json
    assert (again.json["status"], again.json["refunded_amount"]) == ("refunded", "60.50")
    assert refunds_at_provider(standin, paid["provider_ref"]) == [6050]
