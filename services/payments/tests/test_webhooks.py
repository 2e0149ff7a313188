"""The provider's word: PIX paid through a signed webhook, once per event id, never backwards,
forged and stale signatures refused, another amount flagged; reconciliation when a webhook is
lost or a PIX expires; refunds, by an admin or because the order was cancelled."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests
import stripe

from services.kit import Unavailable
from services.kit.testing import deliver

from .conftest import (
    WEBHOOK_SECRET,
    emitted,
    eventually,
    order_status,
    relay,
    standin_events,
    standin_post,
)
from .test_paying import pay


def read(client, payment_id, headers):
    return client.get(f"/payments/{payment_id}", headers=headers).json


def pix_paid(client, user, order, standin, **pay_body):
    """A PIX payment whose payer paid at the stand-in; the payment as the webhook left it."""
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    paid = standin_post(standin, f"/payment_intents/{payment['provider_ref']}/pay", pay_body)
    assert paid.status_code == 200, paid.text
    settled = eventually(
        lambda: (p := read(client, payment["id"], user))["status"] != "requires_action" and p
    )
    return placed, settled


def test_a_paid_pix_succeeds_by_its_webhook_and_the_order_becomes_paid(
    client, user, order, standin, orders, app
):
    placed, payment = pix_paid(client, user, order, standin)
    assert payment["status"] == "succeeded"
    assert emitted(app, "payment.succeeded") == [
        {"payment_id": payment["id"], "order_id": placed["id"], "amount": "60.50", "method": "pix"}
    ]
    relay(app)
    assert order_status(orders, placed["id"], user) == "paid"


def test_a_redelivered_event_answers_200_and_changes_nothing(client, user, order, standin, app):
    _, payment = pix_paid(client, user, order, standin)
    [event] = [
        e
        for e in standin_events(standin, payment["provider_ref"])
        if e["type"] == "payment_intent.succeeded"
    ]
    again = standin_post(standin, f"/events/{event['id']}/resend")
    assert again.json() == {"status": 200}
    assert len(emitted(app, "payment.succeeded")) == 1


def test_a_stale_signature_is_a_400_and_changes_nothing(client, user, order, app):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    body = event_body("evt_stale", "payment_intent.succeeded", paid_in_full(payment))
    stale = post_signed(client, body, at=int(time.time()) - 600)
    assert stale.status_code == 400 and "too old" in stale.json["detail"]
    assert read(client, payment["id"], user)["status"] == "requires_action"
    assert emitted(app, "payment.succeeded") == []
    # The same event signed now is taken: only its signature's age was refused.
    assert post_signed(client, body).status_code == 200
    assert read(client, payment["id"], user)["status"] == "succeeded"


def signed(body: bytes, secret: str, at: int | None = None) -> str:
    at = at or int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{at}.{body.decode()}", secret)
    return f"t={at},v1={signature}"


def event_body(event_id: str, event_type: str, obj: dict) -> bytes:
    """A provider event as Stripe sends it: the raw bytes its signature covers."""
    event = {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}
    return json.dumps(event).encode()


def paid_in_full(payment: dict) -> dict:
    """The payment's PaymentIntent, succeeded for its 60.50."""
    return {"id": payment["provider_ref"], "status": "succeeded", "amount_received": 6050}


def test_a_forged_or_missing_signature_is_a_400_problem_and_pays_nothing(client, user, order, app):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    body = event_body("evt_forged", "payment_intent.succeeded", paid_in_full(payment))
    url = "/payments/webhooks/stripe"
    for headers in (
        {"Stripe-Signature": signed(body, "whsec_someone_else")},
        {},
        {"Stripe-Signature": "t=1,v1=00"},
    ):
        answer = client.post(url, data=body, headers=headers, content_type="application/json")
        assert answer.status_code == 400
        assert answer.headers["Content-Type"] == "application/problem+json"
    # A body changed after signing is refused too.
    header = signed(body, WEBHOOK_SECRET)
    tampered = body.replace(b"6050", b"6051")
    assert client.post(url, data=tampered, headers={"Stripe-Signature": header}).status_code == 400
    assert read(client, payment["id"], user)["status"] == "requires_action"
    assert emitted(app, "payment.succeeded") == []
    # The same event, signed with the secret, is what counts.
    genuine = client.post(url, data=body, headers={"Stripe-Signature": header})
    assert genuine.status_code == 200 and genuine.json == {"status": "processed"}


def test_a_late_processing_event_never_moves_a_succeeded_payment_back(client, user, order, standin):
    _, payment = pix_paid(client, user, order, standin)
    late = standin_post(
        standin,
        "/events",
        {"type": "payment_intent.processing", "payment_intent": payment["provider_ref"]},
    )
    assert late.json()["status"] == 200
    assert read(client, payment["id"], user)["status"] == "succeeded"


def test_a_success_for_another_amount_is_flagged_and_does_not_pay_the_order(
    client, user, admin, order, standin, orders, app
):
    placed, payment = pix_paid(client, user, order, standin, amount_received=100)
    assert payment["needs_review"] is True and "100" in payment["review_reason"]
    assert emitted(app, "payment.succeeded") == []
    assert order_status(orders, placed["id"], user) == "pending"
    flagged = client.get("/payments?needs_review=true", headers=admin).json["items"]
    assert [p["id"] for p in flagged] == [payment["id"]]
    assert client.get("/payments?needs_review=true", headers=user).status_code == 403


def run_chores(app):
    from services.payments import payments

    with app.app_context():
        asked = payments.reconcile()
        from services.payments.models import db

        db.session.remove()
        return asked


def test_reconciliation_applies_a_lost_webhooks_success_and_the_order_becomes_paid(
    client, user, order, standin, orders, app
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    assert standin_post(standin, "/webhooks/drop", {"count": 1}).status_code == 200
    standin_post(standin, f"/payment_intents/{payment['provider_ref']}/pay")
    [lost] = standin_events(standin, payment["provider_ref"])
    assert lost["delivered"] is False
    assert read(client, payment["id"], user)["status"] == "requires_action"
    assert run_chores(app) == 1
    assert read(client, payment["id"], user)["status"] == "succeeded"
    assert emitted(app, "payment.succeeded") == [
        {"payment_id": payment["id"], "order_id": placed["id"], "amount": "60.50", "method": "pix"}
    ]
    relay(app)
    assert order_status(orders, placed["id"], user) == "paid"


def test_an_unpaid_pix_past_its_expiry_is_canceled_and_its_order_cancelled(
    client, user, order, standin, orders, app
):
    app.config["PIX_EXPIRES_S"] = 1
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    time.sleep(1.2)
    run_chores(app)
    expired = read(client, payment["id"], user)
    assert expired["status"] == "canceled"
    intent = requests.get(
        f"{standin.url}/v1/payment_intents/{payment['provider_ref']}",
        headers={"Authorization": "Bearer sk_test_payments_suite"},
        timeout=10,
    ).json()
    assert intent["status"] == "canceled"
    assert emitted(app, "payment.expired") == [
        {"payment_id": payment["id"], "order_id": placed["id"]}
    ]
    relay(app)
    assert order_status(orders, placed["id"], user) == "cancelled"


def test_a_card_payment_while_an_expired_pixs_event_is_on_its_way_is_a_409_and_charges_nothing(
    client, user, order, standin, orders, app
):
    """The PIX is canceled (expired) before orders hears it: the order is still pending there,
    and a card payment now would be charged, then refunded when orders cancels the order."""
    app.config["PIX_EXPIRES_S"] = 1
    placed, other = order(), order()
    pay(client, user, placed["id"], method="pix")
    time.sleep(1.2)
    run_chores(app)
    assert order_status(orders, placed["id"], user) == "pending"

    card = pay(client, user, placed["id"], method="card", payment_method="pm_card_visa")

    assert card.status_code == 409, card.json
    assert (
        card.json["detail"] == f"Order {placed['id']}'s PIX expired: the order is being cancelled"
    )
    assert [
        p["method"]
        for p in client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"]
    ] == ["pix"]
    # Only that order's: another pending order is paid meanwhile.
    paid = pay(client, user, other["id"], method="card", payment_method="pm_card_visa")
    assert paid.status_code == 201, paid.json
    relay(app)
    assert order_status(orders, placed["id"], user) == "cancelled"


def test_a_payment_reconciliation_cannot_settle_waits_behind_the_others(
    client, user, order, standin, app, monkeypatch
):
    from services.payments import payments, provider

    stuck = pay(client, user, order()["id"], method="pix").json
    lost = pay(client, user, order()["id"], method="pix").json
    # The second is paid and its webhook lost; the provider cannot answer about the first.
    assert standin_post(standin, "/webhooks/drop", {"count": 1}).status_code == 200
    standin_post(standin, f"/payment_intents/{lost['provider_ref']}/pay")
    retrieve = provider.retrieve_intent

    def unanswered_for_the_first(ref):
        if ref == stuck["provider_ref"]:
            raise Unavailable("The payment provider cannot be reached")
        return retrieve(ref)

    monkeypatch.setattr(provider, "retrieve_intent", unanswered_for_the_first)
    # A batch of one: the first, the oldest, fills it.
    monkeypatch.setattr(payments, "RECONCILE_BATCH", 1)
    assert run_chores(app) == 0
    assert run_chores(app) == 1
    assert read(client, lost["id"], user)["status"] == "succeeded"
    assert read(client, stuck["id"], user)["status"] == "requires_action"


def test_reconciliation_finishes_a_payment_the_provider_never_answered(
    client, user, order, app, standin
):
    from services.payments.models import Payment, db

    placed = order()
    # As if the process died after the row was written and the order read again, before the
    # provider answered.
    with app.app_context():
        db.session.add(
            Payment(
                order_id=placed["id"],
                method="card",
                amount="60.50",
                created_by=10,
                payment_method="pm_card_visa",
                order_checked=True,
            )
        )
        db.session.commit()
        db.session.remove()
    run_chores(app)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert payment["status"] == "succeeded" and payment["provider_ref"].startswith("pi_")


def test_a_card_payment_left_requiring_authentication_fails_and_is_canceled_at_the_provider(
    client, user, order, app, standin
):
    """An intent made before cards were confirmed with `error_on_requires_action` waits for an
    authentication Feira never offers: reconciliation fails it and cancels it there."""
    from services.payments.models import Payment, db

    placed = order()
    provider = stripe.StripeClient(
        "sk_test_payments_suite", base_addresses={"api": standin.url}, max_network_retries=0
    )
    intent = provider.v1.payment_intents.create(
        params={
            "amount": 6050,
            "currency": "brl",
            "payment_method_types": ["card"],
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    with app.app_context():
        db.session.add(
            Payment(
                order_id=placed["id"],
                method="card",
                status="requires_action",
                amount="60.50",
                created_by=10,
                payment_method="pm_card_authenticationRequired",
                provider_ref=intent.id,
            )
        )
        db.session.commit()
        db.session.remove()
    run_chores(app)
    [payment] = client.get("/payments", headers=user).json["items"]
    assert (payment["status"], payment["failure_code"]) == ("failed", "authentication_required")
    assert provider.v1.payment_intents.retrieve(intent.id).status == "canceled"
    assert run_chores(app) == 0
    assert pay(client, user, placed["id"]).status_code == 201


def test_an_admin_refunds_part_then_the_rest(client, user, admin, order, app):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    url = f"/payments/{payment['id']}/refund"
    assert client.post(url, json={"amount": "10.00"}, headers=user).status_code == 403
    part = client.post(url, json={"amount": "10.00"}, headers=admin)
    assert part.status_code == 200, part.json
    assert part.json["status"] == "partially_refunded"
    assert part.json["refunded_amount"] == "10.00"
    too_much = client.post(url, json={"amount": "60.00"}, headers=admin)
    assert too_much.status_code == 422 and "amount" in too_much.json["errors"]
    rest = client.post(url, json={}, headers=admin)
    assert rest.json["status"] == "refunded" and rest.json["refunded_amount"] == "60.50"
    refunded = eventually(
        lambda: len(emitted(app, "payment.refunded")) >= 2 and emitted(app, "payment.refunded")
    )
    assert [(e["amount"], e["refunded_amount"], e["full"]) for e in refunded] == [
        ("10.00", "10.00", False),
        ("50.50", "60.50", True),
    ]
    # The provider's charge.refunded webhooks arrive too: nothing is counted twice.
    time.sleep(0.5)
    assert read(client, payment["id"], admin)["refunded_amount"] == "60.50"
    assert len(emitted(app, "payment.refunded")) == 2
    assert client.post(url, json={}, headers=admin).status_code == 409


def test_a_cancelled_orders_payment_is_refunded_in_full_once(client, user, order, app):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    event = {"order_id": placed["id"], "previous_status": "paid"}
    first = deliver(app, "order.cancelled", event, "0b0e7a52-6f7c-4a53-9d41-6a1c1c0b7f10")
    assert first.json["status"] == "processed"
    again = deliver(app, "order.cancelled", event, "0b0e7a52-6f7c-4a53-9d41-6a1c1c0b7f10")
    assert again.json["status"] == "duplicate"
    refunded = read(client, payment["id"], user)
    assert refunded["status"] == "refunded" and refunded["refunded_amount"] == "60.50"
    assert [e["full"] for e in emitted(app, "payment.refunded")] == [True]


def test_a_cancelled_orders_failed_payment_is_canceled_at_the_provider_so_it_cannot_succeed(
    client, user, order, app, standin
):
    placed = order()
    failed = pay(client, user, placed["id"], payment_method="pm_card_chargeDeclined").json
    assert failed["status"] == "failed"
    deliver(app, "order.cancelled", {"order_id": placed["id"], "previous_status": "pending"})
    types = [e["type"] for e in standin_events(standin, failed["provider_ref"])]
    assert "payment_intent.canceled" in types
    assert read(client, failed["id"], user)["status"] == "failed"


# What orders says when an order no longer takes its open payment: cancelled (or deleted while
# pending), edited to another total, or marked paid by an admin's hand.
LET_GO = {
    "cancelled": ("order.cancelled", {"previous_status": "pending"}),
    "edited": ("order.updated", {"total": "99.90"}),
    "paid_by_hand": ("order.paid", {"payment_id": None}),
}


@pytest.mark.parametrize("why", LET_GO)
def test_an_open_pix_of_an_order_that_no_longer_takes_it_is_canceled_at_the_provider(
    client, user, order, app, standin, why
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    event, data = LET_GO[why]
    deliver(app, event, {"order_id": placed["id"], **data})
    assert read(client, payment["id"], user)["status"] == "canceled"
    payer = standin_post(standin, f"/payment_intents/{payment['provider_ref']}/pay")
    assert payer.status_code == 400
    assert emitted(app, "payment.succeeded") == []
    # The canceled payment holds the order no more (here orders itself was not changed).
    assert pay(client, user, placed["id"], method="pix").status_code == 201


@pytest.mark.parametrize("why", LET_GO)
def test_a_pix_paid_just_as_its_order_let_go_of_it_is_refunded_in_full(
    client, user, order, app, standin, why
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    # Paid at the provider, its webhook not arrived yet when orders' event comes.
    standin_post(standin, "/webhooks/drop", {"count": 1})
    standin_post(standin, f"/payment_intents/{payment['provider_ref']}/pay")
    event, data = LET_GO[why]
    deliver(app, event, {"order_id": placed["id"], **data})
    refunded = read(client, payment["id"], user)
    assert refunded["status"] == "refunded" and refunded["refunded_amount"] == "60.50"
    assert [e["full"] for e in emitted(app, "payment.refunded")] == [True]
    # Never announced: orders would mark the order paid with money that went back.
    assert emitted(app, "payment.succeeded") == []


def as_stripe_with_a_processing_intent(monkeypatch):
    """The provider as Stripe is for a PaymentIntent still `processing` (a card charge not yet
    settled): it answers so, and refuses to cancel it."""
    from services.payments import provider

    create, retrieve = provider.create_intent, provider.retrieve_intent

    def refused(payment):
        raise provider.Refused(
            "You cannot cancel this PaymentIntent because it has a status of processing.",
            status=400,
            code="payment_intent_unexpected_state",
            param=None,
            kind="invalid_request_error",
        )

    monkeypatch.setattr(
        provider, "create_intent", lambda p, **ask: {**create(p, **ask), "status": "processing"}
    )
    monkeypatch.setattr(
        provider, "retrieve_intent", lambda r: {**retrieve(r), "status": "processing"}
    )
    monkeypatch.setattr(provider, "cancel_intent", refused)


@pytest.mark.parametrize("why", LET_GO)
def test_a_card_still_processing_when_its_order_let_go_of_it_is_refunded_once_it_succeeds(
    client, user, order, app, standin, monkeypatch, why
):
    placed = order()
    # The stand-in charges the card at once: its success webhook is held back, to come later.
    assert standin_post(standin, "/webhooks/drop", {"count": 1}).ok
    with monkeypatch.context() as stripe_processing:
        as_stripe_with_a_processing_intent(stripe_processing)
        payment = pay(client, user, placed["id"]).json
        assert payment["status"] == "processing" and payment["provider_ref"]
        event, data = LET_GO[why]
        assert deliver(app, event, {"order_id": placed["id"], **data}).json["status"] == (
            "processed"
        )
        assert read(client, payment["id"], user)["status"] == "processing"
    # Its charge settles: the success is let go of as it comes.
    late = standin_post(
        standin,
        "/events",
        {"type": "payment_intent.succeeded", "payment_intent": payment["provider_ref"]},
    )
    assert late.json()["status"] == 200
    refunded = read(client, payment["id"], user)
    assert refunded["status"] == "refunded" and refunded["refunded_amount"] == "60.50"
    assert [e["full"] for e in emitted(app, "payment.refunded")] == [True]
    assert emitted(app, "payment.succeeded") == []


def test_an_edit_older_than_the_payments_read_of_its_order_lets_nothing_go(
    client, user, order, app
):
    """After a failure the relay may deliver an older `order.updated` after a newer one: an edit
    made before the payment read the order (which then had the total it pays) changes nothing;
    one made after it does."""
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    read_at = datetime.fromisoformat(placed["updated_at"])
    late = {"order_id": placed["id"], "total": "99.90"}
    earlier = (read_at - timedelta(seconds=1)).isoformat()
    assert deliver(app, "order.updated", {**late, "updated_at": earlier}).status_code == 200
    assert read(client, payment["id"], user)["status"] == "requires_action"
    later = (read_at + timedelta(seconds=1)).isoformat()
    assert deliver(app, "order.updated", {**late, "updated_at": later}).status_code == 200
    assert read(client, payment["id"], user)["status"] == "canceled"


def test_an_expired_pix_its_edited_order_let_go_of_does_not_cancel_the_order(
    client, user, order, app
):
    """Past its expiry but not yet reconciled when the order is edited: canceled for the edit,
    and not announced expired (orders would cancel the order the customer is still editing)."""
    app.config["PIX_EXPIRES_S"] = 1
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    time.sleep(1.2)
    deliver(app, "order.updated", {"order_id": placed["id"], "total": "99.90"})
    assert read(client, payment["id"], user)["status"] == "canceled"
    assert emitted(app, "payment.expired") == []


@pytest.mark.parametrize("total", ["abc", "NaN", "1e999999"])
def test_an_order_updated_with_a_total_no_one_can_read_is_rejected_once_not_a_500(
    client, user, order, app, total
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    answer = deliver(app, "order.updated", {"order_id": placed["id"], "total": total})
    assert answer.status_code == 200 and answer.json["status"] == "rejected"
    assert read(client, payment["id"], user)["status"] == "requires_action"


def test_an_order_edited_to_the_same_total_keeps_its_open_pix(client, user, order, app, standin):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    deliver(app, "order.updated", {"order_id": placed["id"], "total": payment["amount"]})
    assert read(client, payment["id"], user)["status"] == "requires_action"


@pytest.mark.parametrize("data", [None, [], "x", {"object": []}, {"object": "pi_1"}])
def test_a_signed_event_of_an_unexpected_shape_is_acknowledged_and_changes_nothing(client, data):
    body = json.dumps(
        {"id": f"evt_shape_{json.dumps(data)}", "type": "payment_intent.succeeded", "data": data}
    ).encode()
    answer = client.post(
        "/payments/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": signed(body, WEBHOOK_SECRET)},
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json == {"status": "ignored"}


def test_the_payment_that_paid_the_order_is_kept_when_order_paid_comes_back(
    client, user, order, app
):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    deliver(app, "order.paid", {"order_id": placed["id"], "payment_id": payment["id"]})
    kept = read(client, payment["id"], user)
    assert kept["status"] == "succeeded" and kept["refunded_amount"] == "0.00"
    assert emitted(app, "payment.refunded") == []


def provider_fails(standin, payment: dict) -> requests.Response:
    """The stand-in fails the payment's attempt (Stripe: back to requires_payment_method) and
    sends its signed payment_intent.payment_failed."""
    return standin_post(
        standin,
        "/events",
        {"type": "payment_intent.payment_failed", "payment_intent": payment["provider_ref"]},
    )


def test_a_failure_the_provider_gives_no_code_for_has_a_null_failure_code(
    client, user, order, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    provider_fails(standin, payment)
    failed = read(client, payment["id"], user)
    assert (failed["status"], failed["failure_reason"]) == ("failed", "The payment failed")
    assert failed["failure_code"] is None
    [event] = emitted(app, "payment.failed")
    assert "code" in event and event["code"] is None


def test_a_success_after_a_failure_wins_and_pays_the_order(
    client, user, order, standin, orders, app
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    # The attempt failed (Stripe: back to requires_payment_method), and then it was paid.
    assert provider_fails(standin, payment).json()["status"] == 200
    assert read(client, payment["id"], user)["status"] == "failed"
    standin_post(standin, f"/payment_intents/{payment['provider_ref']}/pay")
    succeeded = eventually(
        lambda: (p := read(client, payment["id"], user))["status"] == "succeeded" and p
    )
    assert succeeded, read(client, payment["id"], user)
    assert (succeeded["failure_reason"], succeeded["failure_code"]) == (None, None)
    assert emitted(app, "payment.succeeded") == [
        {"payment_id": payment["id"], "order_id": placed["id"], "amount": "60.50", "method": "pix"}
    ]
    relay(app)
    assert order_status(orders, placed["id"], user) == "paid"
    # The order is held: no second payment charges it again.
    assert pay(client, user, placed["id"]).status_code == 409


def test_a_success_after_a_failure_while_another_payment_holds_the_order_is_refunded_in_full(
    client, user, order, standin, app
):
    placed = order()
    first = pay(client, user, placed["id"], method="pix").json
    provider_fails(standin, first)
    assert read(client, first["id"], user)["status"] == "failed"
    second = pay(client, user, placed["id"]).json
    assert second["status"] == "succeeded"
    standin_post(standin, f"/payment_intents/{first['provider_ref']}/pay")
    given_back = eventually(
        lambda: (p := read(client, first["id"], user))["status"] == "refunded" and p
    )
    assert given_back, read(client, first["id"], user)
    assert given_back["refunded_amount"] == "60.50" and given_back["needs_review"] is False
    assert given_back["failure_reason"] is None
    assert [e["payment_id"] for e in emitted(app, "payment.succeeded")] == [second["id"]]
    assert [(e["payment_id"], e["full"]) for e in emitted(app, "payment.refunded")] == [
        (first["id"], True)
    ]
    assert read(client, second["id"], user)["status"] == "succeeded"


def test_two_refunds_at_once_are_two_refunds(served, user, admin, order, client):
    def refund(payment_id):
        return requests.post(
            f"{served.base_url}/payments/{payment_id}/refund",
            json={"amount": "10.00"},
            headers=admin,
            timeout=30,
        )

    # A few times: without the lock, the two would take the same refund's key.
    for _ in range(3):
        placed = order()
        payment = pay(client, user, placed["id"]).json
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(refund, [payment["id"]] * 2))
        assert [a.status_code for a in answers] == [200, 200]
        assert sorted(a.json()["refunded_amount"] for a in answers) == ["10.00", "20.00"]
        assert read(client, payment["id"], admin)["refunded_amount"] == "20.00"


def post_signed(client, body: bytes, at: int | None = None):
    return client.post(
        "/payments/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": signed(body, WEBHOOK_SECRET, at)},
        content_type="application/json",
    )


@pytest.mark.parametrize("body", [b"[1, 2]", b"null", b"123", b'"evt"', b"[]"])
def test_a_signed_body_that_is_not_an_event_object_is_a_400_problem(client, body):
    answer = post_signed(client, body)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("depth", [33, 5000])
def test_a_signed_body_nested_too_deep_is_a_400_problem_and_changes_nothing(
    client, user, order, app, depth
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    body = (
        b'{"id":"evt_deep","type":"payment_intent.succeeded","data":'
        + b'{"a":' * depth
        + b"1"
        + b"}" * depth
        + b"}"
    )
    answer = post_signed(client, body)
    assert answer.status_code == 400 and "deeper than 32" in answer.json["detail"]
    assert read(client, payment["id"], user)["status"] == "requires_action"


def test_a_refund_report_of_more_than_any_amount_changes_nothing(client, user, order, app):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    refunded = {"id": "ch_x", "payment_intent": payment["provider_ref"], "amount_refunded": 10**40}
    body = event_body("evt_huge_refund", "charge.refunded", refunded)
    answer = post_signed(client, body)
    assert answer.status_code == 200
    unchanged = read(client, payment["id"], user)
    assert unchanged["status"] == "succeeded" and unchanged["refunded_amount"] == "0.00"
    assert emitted(app, "payment.refunded") == []


def test_a_signature_from_the_future_is_a_400_and_changes_nothing(client, user, order, app):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    body = event_body("evt_future", "payment_intent.succeeded", paid_in_full(payment))
    future = post_signed(client, body, at=int(time.time()) + 3600)
    assert future.status_code == 400 and "from the future" in future.json["detail"]
    assert read(client, payment["id"], user)["status"] == "requires_action"
    # A clock a little ahead of ours is within the tolerance.
    assert post_signed(client, body, at=int(time.time()) + 60).status_code == 200
