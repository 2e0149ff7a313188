"""A payment request killed at any step, then retried with the same Idempotency-Key: one
payment, one PaymentIntent at the provider, charged once; without a retry, reconciliation
finishes it (or drops it, when its request died before the order was read again: the provider
never heard of it). One whose order let go of it meanwhile is never charged after that: canceled
if the provider had not heard of it, refunded if it had charged it."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, update

from services.kit.failpoints import Crash
from services.kit.testing import deliver
from services.payments import provider
from services.payments.models import Payment, db

from .conftest import (
    emitted,
    intents_made,
    order_status,
    relay,
    standin_events,
    standin_post,
)
from .test_webhooks import LET_GO, run_chores

STEPS = [
    "payments.row_committed",
    "payments.order_checked",
    "payments.provider_answered",
    "idempotency.answered",
]


def crash_at(client, step, body, headers):
    client.application.config["FAILPOINTS"] = {step}
    try:
        with pytest.raises(Crash):
            client.post("/payments", json=body, headers=headers)
    finally:
        client.application.config.pop("FAILPOINTS")


@pytest.mark.parametrize("step", STEPS)
def test_a_retry_after_a_crash_charges_exactly_once(client, user, order, standin, app, step):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    headers = {**user, "Idempotency-Key": f"crash-{step}"}
    crash_at(client, step, body, headers)

    retried = client.post("/payments", json=body, headers=headers)
    again = client.post("/payments", json=body, headers=headers)

    assert retried.status_code == again.status_code == 201, retried.json
    assert retried.json["status"] == "succeeded" and again.json == retried.json
    listed = client.get(f"/payments?order_id={placed['id']}", headers=user).json
    assert listed["total"] == 1
    charges = standin_events(standin, retried.json["provider_ref"])
    assert [event["type"] for event in charges] == ["payment_intent.succeeded"]
    assert len(emitted(app, "payment.succeeded")) == 1


def changed_at_orders(orders, placed, how, user, admin) -> None:
    """The order no longer takes the payment being made (`how`: cancelled, edited to another
    total, paid by hand), changed at orders while payments hears nothing of it: as when its
    event came before the payment's row existed, and found nothing to let go of."""
    at_orders = orders.app.test_client()
    if how == "edited":
        items = [{"product_id": placed["items"][0]["product_id"], "quantity": 3}]
        changed = at_orders.patch(f"/orders/{placed['id']}", json={"items": items}, headers=user)
    else:
        changed = at_orders.post(
            f"/orders/{placed['id']}/status", json={"status": how}, headers=admin
        )
    assert changed.status_code == 200, changed.json


@pytest.mark.parametrize("how", ["cancelled", "edited", "paid"])
def test_a_retry_after_a_crash_before_the_order_was_read_again_charges_nothing_if_it_changed(
    client, user, admin, order, orders, standin, how
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    headers = {**user, "Idempotency-Key": f"changed-{how}"}
    made_before = intents_made(standin)
    crash_at(client, "payments.row_committed", body, headers)
    changed_at_orders(orders, placed, how, user, admin)
    retried = client.post("/payments", json=body, headers=headers)
    assert retried.status_code == 409, retried.json
    assert "changed while it was being paid" in retried.json["detail"]
    assert client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"] == []
    assert intents_made(standin) == made_before


def test_a_payment_whose_request_died_before_the_order_was_read_again_is_dropped_not_charged(
    client, user, admin, order, orders, standin, app
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    headers = {**user, "Idempotency-Key": "died-before-the-second-read"}
    made_before = intents_made(standin)
    crash_at(client, "payments.row_committed", body, headers)
    changed_at_orders(orders, placed, "cancelled", user, admin)
    # Reconciliation cannot read the order (no caller's token): the provider never heard of
    # this payment, so it goes.
    run_chores(app)
    assert client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"] == []
    assert intents_made(standin) == made_before
    # Its key went with it: the same request starts afresh, and reads the order.
    again = client.post("/payments", json=body, headers=headers)
    assert again.status_code == 409 and "only a pending order" in again.json["detail"]


def test_a_pix_the_provider_first_hears_of_late_gives_the_payer_the_whole_time(
    client, user, order, standin, app, orders
):
    """Its request died before the provider was asked; the retry comes 20 minutes later (the
    provider was down): the code shown then is good for PIX_EXPIRES_S, not already expired."""
    placed = order()
    body = {"order_id": placed["id"], "method": "pix"}
    headers = {**user, "Idempotency-Key": "late-pix"}
    crash_at(client, "payments.order_checked", body, headers)
    with app.app_context():
        db.session.execute(update(Payment).values(created_at=func.now() - timedelta(minutes=20)))
        db.session.commit()
        db.session.remove()

    retried = client.post("/payments", json=body, headers=headers)

    assert retried.status_code == 201, retried.json
    expires = datetime.fromisoformat(retried.json["pix"]["expires_at"])
    left = (expires - datetime.now(UTC)).total_seconds()
    assert left > app.config["PIX_EXPIRES_S"] - 60
    run_chores(app)
    assert client.get(f"/payments/{retried.json['id']}", headers=user).json["status"] == (
        "requires_action"
    )
    relay(app)
    assert order_status(orders, placed["id"], user) == "pending"


def test_a_crash_after_the_provider_answered_is_finished_by_reconciliation(
    client, user, order, standin, app
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    # Its success webhook is lost (an earlier test may have pointed the stand-in at a served
    # payments): reconciliation alone finishes the payment.
    lost = requests.post(f"{standin.url}/_standin/webhooks/drop", json={"count": 1}, timeout=10)
    assert lost.ok
    crash_at(client, "payments.provider_answered", body, user)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert (payment["status"], payment["provider_ref"]) == ("processing", None)
    run_chores(app)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert payment["status"] == "succeeded"
    assert len(standin_events(standin, payment["provider_ref"])) == 1


FINISHED_BY = ["reconciliation", "a same-key retry"]


def let_go(app, placed, why) -> None:
    kind, data = LET_GO[why]
    assert deliver(app, kind, {"order_id": placed["id"], **data}).json["status"] == "processed"


def finish(client, app, body, headers, by) -> dict:
    """The payment whose request died, as reconciliation or the same request again leaves it."""
    if by == "reconciliation":
        run_chores(app)
        [payment] = client.get("/payments", headers=headers).json["items"]
        return payment
    retried = client.post("/payments", json=body, headers=headers)
    assert retried.status_code == 201, retried.json
    return retried.json


@pytest.mark.parametrize("why", LET_GO)
@pytest.mark.parametrize("by", FINISHED_BY)
def test_a_card_its_order_let_go_of_before_the_provider_heard_of_it_is_canceled_never_charged(
    client, user, order, standin, app, why, by
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    headers = {**user, "Idempotency-Key": f"never-heard-{why}-{by}"}
    made_before = intents_made(standin)
    # The request dies once the order was read again, before the provider heard of the payment;
    # then its order lets go of it.
    crash_at(client, "payments.order_checked", body, headers)
    let_go(app, placed, why)

    payment = finish(client, app, body, headers, by)

    assert (payment["status"], payment["refunded_amount"]) == ("canceled", "0.00")
    # One PaymentIntent, never confirmed: no charge, nothing to refund.
    [made] = intents_made(standin) - made_before
    assert made == payment["provider_ref"]
    intent = standin.app.extensions["stripe_store"].payment_intents[made]
    assert (intent["status"], intent["amount_received"], intent["latest_charge"]) == (
        "canceled",
        0,
        None,
    )
    # Nothing asked afterwards charges it.
    run_chores(app)
    again = client.post("/payments", json=body, headers=headers)
    assert (again.status_code, again.json["status"]) == (201, "canceled")
    assert [e["type"] for e in standin_events(standin, made)] == ["payment_intent.canceled"]
    for kind in ("payment.succeeded", "payment.failed", "payment.refunded"):
        assert emitted(app, kind) == []


def test_a_pix_its_order_let_go_of_before_the_provider_heard_of_it_is_canceled_with_no_code(
    client, user, order, standin, app
):
    placed = order()
    body = {"order_id": placed["id"], "method": "pix"}
    made_before = intents_made(standin)
    crash_at(client, "payments.order_checked", body, user)
    let_go(app, placed, "cancelled")

    payment = finish(client, app, body, user, "reconciliation")

    assert payment["status"] == "canceled" and payment["pix"]["qr_code"] is None
    [made] = intents_made(standin) - made_before
    intent = standin.app.extensions["stripe_store"].payment_intents[made]
    assert (intent["status"], intent["next_action"]) == ("canceled", None)
    assert emitted(app, "payment.failed") == emitted(app, "payment.expired") == []


@pytest.mark.parametrize("by", FINISHED_BY)
def test_a_card_its_order_let_go_of_after_the_provider_charged_it_is_refunded_charged_once(
    client, user, order, standin, app, by
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    headers = {**user, "Idempotency-Key": f"heard-{by}"}
    made_before = intents_made(standin)
    # The provider charged the card; the request died before applying its answer, the success
    # webhook lost; then the order is cancelled.
    assert standin_post(standin, "/webhooks/drop", {"count": 1}).ok
    crash_at(client, "payments.provider_answered", body, headers)
    let_go(app, placed, "cancelled")
    [waiting] = client.get("/payments", headers=user).json["items"]
    assert (waiting["status"], waiting["provider_ref"]) == ("processing", None)

    payment = finish(client, app, body, headers, by)

    # The money goes back at once, and the payer was charged once.
    assert payment["status"] == "refunded" and payment["refunded_amount"] == payment["amount"]
    assert [e["full"] for e in emitted(app, "payment.refunded")] == [True]
    assert emitted(app, "payment.succeeded") == []
    assert intents_made(standin) - made_before == {payment["provider_ref"]}
    types = [e["type"] for e in standin_events(standin, payment["provider_ref"])]
    assert types == ["charge.refunded", "payment_intent.succeeded"]


def test_a_card_whose_order_let_go_of_it_and_was_settled_before_its_request_arrived_is_not_charged(
    client, user, order, standin, app, monkeypatch
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    made_before = intents_made(standin)
    create, overtook = provider.create_intent, []

    def overtaken(payment, **ask):
        if not overtook:
            # Slow on its way to the provider: meanwhile the order is cancelled, and
            # reconciliation settles the payment first (the provider hears of it unconfirmed).
            overtook.append(payment.id)
            let_go(app, placed, "cancelled")
            run_chores(app)
        return create(payment, **ask)

    monkeypatch.setattr(provider, "create_intent", overtaken)
    paid = client.post("/payments", json=body, headers=user)

    assert (paid.status_code, paid.json["status"]) == (201, "canceled"), paid.json
    [made] = intents_made(standin) - made_before
    assert standin.app.extensions["stripe_store"].payment_intents[made]["amount_received"] == 0
    assert [e["type"] for e in standin_events(standin, made)] == ["payment_intent.canceled"]
    assert emitted(app, "payment.succeeded") == emitted(app, "payment.refunded") == []


def test_a_payment_let_go_before_its_success_was_applied_announces_no_success(
    client, user, order, standin, orders, app
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    # The card is charged; the request dies before applying the answer, its webhook lost.
    assert standin_post(standin, "/webhooks/drop", {"count": 1}).ok
    crash_at(client, "payments.provider_answered", body, user)
    # Meanwhile the order is edited to another total (the payment is let go) and back.
    for total in ("99.90", placed["total"]):
        edited = deliver(app, "order.updated", {"order_id": placed["id"], "total": total})
        assert edited.json["status"] == "processed"
    run_chores(app)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert payment["status"] == "refunded" and payment["refunded_amount"] == payment["amount"]
    # Orders is never told of a success whose money went back: the order is not paid.
    assert emitted(app, "payment.succeeded") == []
    relay(app)
    assert order_status(orders, placed["id"], user) == "pending"


def test_a_declined_card_whose_request_died_is_failed_by_reconciliation_with_its_decline_code(
    client, user, order, app
):
    placed = order()
    body = {
        "order_id": placed["id"],
        "method": "card",
        "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
    }
    crash_at(client, "payments.order_checked", body, user)
    run_chores(app)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert payment["status"] == "failed"
    assert payment["failure_code"] == "insufficient_funds"
    assert payment["failure_reason"] == "Your card has insufficient funds."
    assert [e["code"] for e in emitted(app, "payment.failed")] == ["insufficient_funds"]


def test_a_payment_the_provider_refuses_at_reconciliation_fails_with_the_refusals_code(
    client, user, order, app
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_nonsense"}
    crash_at(client, "payments.order_checked", body, user)
    run_chores(app)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert (payment["status"], payment["failure_code"]) == ("failed", "resource_missing")
    assert [e["code"] for e in emitted(app, "payment.failed")] == ["resource_missing"]


@pytest.mark.parametrize("why", LET_GO)
def test_a_payment_its_order_let_go_of_that_the_provider_refuses_at_reconciliation_is_not_announced(
    client, user, order, app, why
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_nonsense"}
    crash_at(client, "payments.order_checked", body, user)
    let_go(app, placed, why)
    run_chores(app)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert (payment["status"], payment["failure_code"]) == ("failed", "resource_missing")
    # The order was cancelled, edited or paid by hand: its client is not told "not approved,
    # try again" (as when the refusal answers the request itself).
    assert emitted(app, "payment.failed") == []
