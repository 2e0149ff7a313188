"""A refund the provider made and that then failed (Stripe's `pm_card_refundFail`: made
`pending`, failed a while later, told by `charge.refund.updated` for some payment methods only,
by `refund.updated` and `refund.failed` for all): no longer counted as money returned, once
however many of them tell it, the payment's status follows the refunds that did go back, and an
admin is asked to look. One the provider answers `failed` at once was never counted: a
refusal."""

import time
from datetime import datetime

from sqlalchemy import select

from services.kit.testing import deliver
from services.payments.models import Refund, RefundAsk, db

from .conftest import emitted, eventually, standin_events, standin_post
from .test_paying import pay
from .test_webhooks import WEBHOOK_SECRET, event_body, provider_fails, read, signed


def refund_refs(app, payment_id) -> list[str]:
    with app.app_context():
        refs = db.session.scalars(
            select(Refund.provider_ref).where(Refund.payment_id == payment_id).order_by(Refund.id)
        ).all()
        db.session.remove()
        return list(refs)


def fail_at_the_provider(client, admin, standin, payment_id, ref) -> dict:
    """The provider fails the refund `ref`; the payment once the first of its events applied."""
    failed = standin_post(standin, f"/refunds/{ref}/fail")
    assert failed.status_code == 200, failed.text
    return eventually(lambda: (p := read(client, payment_id, admin))["needs_review"] and p)


def post_signed(client, event_id, event_type, obj):
    body = event_body(event_id, event_type, obj)
    return client.post(
        "/payments/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": signed(body, WEBHOOK_SECRET)},
        content_type="application/json",
    )


def test_a_refund_that_fails_at_the_provider_is_no_longer_counted_and_the_payment_is_flagged(
    client, user, admin, order, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"], payment_method="pm_card_refundFail").json
    assert payment["status"] == "succeeded"
    made = client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin)
    assert made.status_code == 200, made.json
    # Made, pending: counted as on its way, as the provider counts it.
    assert (made.json["status"], made.json["refunded_amount"]) == ("refunded", "60.50")
    [ref] = refund_refs(app, payment["id"])

    flagged = fail_at_the_provider(client, admin, standin, payment["id"], ref)

    assert (flagged["status"], flagged["refunded_amount"]) == ("succeeded", "0.00")
    assert ref in flagged["review_reason"] and "not returned" in flagged["review_reason"]
    # Orders is told the lower total, in an event newer than the refund's: it keeps the newest.
    announced = emitted(app, "payment.refunded")
    assert [(e["amount"], e["refunded_amount"], e["full"]) for e in announced] == [
        ("60.50", "60.50", True),
        ("-60.50", "0.00", False),
    ]
    made_at, failed_at = (datetime.fromisoformat(e["version"]) for e in announced)
    assert made_at < failed_at
    # The failure's other events (Stripe tells one change in up to three) change nothing.
    assert eventually(lambda: refund_failure_heard(standin, payment))
    assert read(client, payment["id"], admin) == flagged
    assert emitted(app, "payment.refunded") == announced
    # The event again (Stripe redelivers): nothing changes.
    [event] = [
        e
        for e in standin_events(standin, payment["provider_ref"])
        if e["type"] == "charge.refund.updated"
    ]
    assert standin_post(standin, f"/events/{event['id']}/resend").json() == {"status": 200}
    assert read(client, payment["id"], admin) == flagged
    # The money is still the merchant's: it can be refunded again.
    again = client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin)
    assert again.status_code == 200, again.json
    assert again.json["refunded_amount"] == "60.50"


def failed_refund(payment: dict, ref: str, amount: int) -> dict:
    """Stripe's Refund `ref` of the payment, failed (as every refund event carries it)."""
    return {
        "id": ref,
        "object": "refund",
        "amount": amount,
        "payment_intent": payment["provider_ref"],
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
    }


def test_a_pending_refund_whose_failure_only_refund_failed_tells_is_uncounted_and_flagged(
    client, user, admin, order, app
):
    # A payment method outside the "selected" ones: no charge.refund.updated ever comes.
    placed = order()
    payment = pay(client, user, placed["id"], payment_method="pm_card_refundFail").json
    made = client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin)
    assert (made.json["status"], made.json["refunded_amount"]) == ("refunded", "60.50")
    [ref] = refund_refs(app, payment["id"])
    failed = failed_refund(payment, ref, 6050)

    told = post_signed(client, "evt_only_failed", "refund.failed", failed)

    assert told.status_code == 200 and told.json == {"status": "processed"}
    flagged = read(client, payment["id"], admin)
    assert (flagged["status"], flagged["refunded_amount"]) == ("succeeded", "0.00")
    assert flagged["needs_review"] is True
    assert ref in flagged["review_reason"]
    assert "expired_or_canceled_card" in flagged["review_reason"]
    assert refunds_recorded(app, payment["id"])[0] == [("failed", "60.50")]


def test_a_failure_told_by_refund_updated_then_its_other_events_is_uncounted_once(
    client, user, admin, order, app
):
    placed = order()
    payment = pay(client, user, placed["id"], payment_method="pm_card_refundFail").json
    url = f"/payments/{payment['id']}/refund"
    assert client.post(url, json={"amount": "10.00"}, headers=admin).status_code == 200
    assert client.post(url, json={"amount": "20.00"}, headers=admin).status_code == 200
    first, _ = refund_refs(app, payment["id"])
    failed = failed_refund(payment, first, 1000)

    told = post_signed(client, "evt_first_updated", "refund.updated", failed)

    assert told.json == {"status": "processed"}
    flagged = read(client, payment["id"], admin)
    assert (flagged["status"], flagged["refunded_amount"]) == ("partially_refunded", "20.00")
    assert flagged["needs_review"] is True and first in flagged["review_reason"]
    # The same change told again by its other events (new ids): the 10.00 is not taken twice.
    for event_id, event_type in [
        ("evt_first_failed", "refund.failed"),
        ("evt_first_charge_updated", "charge.refund.updated"),
    ]:
        assert post_signed(client, event_id, event_type, failed).json == {"status": "processed"}
    assert read(client, payment["id"], admin) == flagged
    assert refunds_recorded(app, payment["id"])[0] == [("failed", "10.00"), ("pending", "20.00")]


def test_a_failed_refund_leaves_the_others_counted_and_a_late_total_does_not_count_it_again(
    client, user, admin, order, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"], payment_method="pm_card_refundFail").json
    url = f"/payments/{payment['id']}/refund"
    assert client.post(url, json={"amount": "10.00"}, headers=admin).status_code == 200
    assert client.post(url, json={"amount": "20.00"}, headers=admin).status_code == 200
    first, _ = refund_refs(app, payment["id"])

    flagged = fail_at_the_provider(client, admin, standin, payment["id"], first)

    assert (flagged["status"], flagged["refunded_amount"]) == ("partially_refunded", "20.00")
    # A charge.refunded the provider sent before the failure, arriving late, counts it no more.
    late = {"id": "ch_late", "payment_intent": payment["provider_ref"], "amount_refunded": 3000}
    assert post_signed(client, "evt_late_total", "charge.refunded", late).status_code == 200
    # Nor does a refund.updated of that refund saying it is still on its way (forward only).
    pending = {"id": first, "object": "refund", "status": "pending", "amount": 1000}
    pending["payment_intent"] = payment["provider_ref"]
    assert post_signed(client, "evt_late_pending", "charge.refund.updated", pending).json == {
        "status": "processed"
    }
    time.sleep(0.3)
    assert read(client, payment["id"], admin) == flagged


def test_a_failed_refund_made_outside_feira_is_uncounted_if_the_providers_total_counted_it(
    client, user, admin, order, app
):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    intent = payment["provider_ref"]
    charge = {"id": "ch_dash", "payment_intent": intent, "amount_refunded": 1000}
    assert post_signed(client, "evt_dash_made", "charge.refunded", charge).status_code == 200
    assert read(client, payment["id"], admin)["refunded_amount"] == "10.00"
    refund = {
        "id": "re_dash",
        "object": "refund",
        "amount": 1000,
        "payment_intent": intent,
        "status": "failed",
        "failure_reason": "lost_or_stolen_card",
    }
    assert post_signed(client, "evt_dash_failed", "charge.refund.updated", refund).json == {
        "status": "processed"
    }
    flagged = read(client, payment["id"], admin)
    assert (flagged["status"], flagged["refunded_amount"]) == ("succeeded", "0.00")
    assert flagged["needs_review"] and "lost_or_stolen_card" in flagged["review_reason"]
    assert "re_dash" in flagged["review_reason"]


def refunds_recorded(app, payment_id) -> list[tuple[str, str]]:
    """The payment's refunds (status, amount) and its asks' states, in order."""
    with app.app_context():
        refunds = db.session.execute(
            select(Refund.status, Refund.amount)
            .where(Refund.payment_id == payment_id)
            .order_by(Refund.id)
        ).all()
        asks = db.session.scalars(
            select(RefundAsk.state).where(RefundAsk.payment_id == payment_id).order_by(RefundAsk.n)
        ).all()
        db.session.remove()
        return [(status, str(amount)) for status, amount in refunds], list(asks)


def refund_failure_heard(standin, payment) -> bool:
    """All the stand-in's events telling a refund failed reached payments."""
    told = {
        e["type"]
        for e in standin_events(standin, payment["provider_ref"])
        if e["type"] in ("charge.refund.updated", "refund.updated", "refund.failed")
        and e["delivered"]
    }
    return told == {"charge.refund.updated", "refund.updated", "refund.failed"}


def test_a_refund_answered_failed_at_once_is_a_409_nothing_counted_and_a_later_refund_is_new(
    client, user, admin, order, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    assert standin_post(standin, "/refunds/fail_next", {"count": 1}).status_code == 200
    url = f"/payments/{payment['id']}/refund"

    refused = client.post(url, json={}, headers=admin)

    assert refused.status_code == 409, refused.json
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json["detail"] == (
        "The payment provider refused the refund: The refund failed at the provider: "
        "nothing was returned"
    )
    # Its events (charge.refund.updated, refund.updated, refund.failed), arriving after the
    # answer, change nothing.
    assert eventually(lambda: refund_failure_heard(standin, payment))
    after = read(client, payment["id"], admin)
    assert (after["status"], after["refunded_amount"]) == ("succeeded", "0.00")
    # The admin was answered: like a refusal, nothing to review, nothing announced.
    assert after["needs_review"] is False and after["review_reason"] is None
    assert emitted(app, "payment.refunded") == []
    assert refunds_recorded(app, payment["id"]) == ([("failed", "60.50")], ["refused"])
    # Asked again, it is a new refund (the failed ask is not replayed), and all of it goes back.
    again = client.post(url, json={}, headers=admin)
    assert again.status_code == 200, again.json
    assert (again.json["status"], again.json["refunded_amount"]) == ("refunded", "60.50")
    assert [e["full"] for e in emitted(app, "payment.refunded")] == [True]
    assert refunds_recorded(app, payment["id"]) == (
        [("failed", "60.50"), ("succeeded", "60.50")],
        ["refused", "made"],
    )


def test_a_cancelled_orders_refund_answered_failed_at_once_flags_the_payment_for_review(
    client, user, admin, order, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    assert standin_post(standin, "/refunds/fail_next", {"count": 1}).status_code == 200

    event = {"order_id": placed["id"], "previous_status": "paid"}
    assert deliver(app, "order.cancelled", event).json["status"] == "processed"

    flagged = read(client, payment["id"], admin)
    assert (flagged["status"], flagged["refunded_amount"]) == ("succeeded", "0.00")
    assert flagged["needs_review"] is True
    assert flagged["review_reason"].startswith("Its order was cancelled; the refund was refused")
    assert "nothing was returned" in flagged["review_reason"]
    assert emitted(app, "payment.refunded") == []
    # An admin refunds it by hand once they looked.
    again = client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin)
    assert again.status_code == 200, again.json
    assert again.json["refunded_amount"] == "60.50"


def late_success_given_back_then_failed(client, user, admin, order, standin, app):
    """A PIX that failed, its order paid by card, then the PIX paid late: given back in full
    (`refunded`), and that refund failed at the provider. The two payments, as they then are."""
    placed = order()
    late = pay(client, user, placed["id"], method="pix").json
    provider_fails(standin, late)
    assert read(client, late["id"], user)["status"] == "failed"
    paid = pay(client, user, placed["id"]).json
    assert paid["status"] == "succeeded"
    standin_post(standin, f"/payment_intents/{late['provider_ref']}/pay")
    assert eventually(lambda: read(client, late["id"], admin)["status"] == "refunded")
    [ref] = refund_refs(app, late["id"])
    failed = {"id": ref, "object": "refund", "amount": 6050, "status": "failed"}
    failed |= {"payment_intent": late["provider_ref"], "failure_reason": "expired_or_canceled_card"}
    assert post_signed(client, "evt_give_back_failed", "charge.refund.updated", failed).json == {
        "status": "processed"
    }
    flagged = read(client, late["id"], admin)
    assert flagged["needs_review"] and ref in flagged["review_reason"]
    # Not counted any more, and still `refunded`: the card payment holds the order.
    assert (flagged["status"], flagged["refunded_amount"]) == ("refunded", "0.00")
    return flagged, paid


def test_a_dashboard_refund_of_a_refunded_payment_whose_refund_failed_is_counted_and_a_200(
    client, user, admin, order, standin, app
):
    late, paid = late_success_given_back_then_failed(client, user, admin, order, standin, app)
    # The admin gives part of it back from the provider's dashboard.
    dashboard = {
        "id": "re_dashboard_again",
        "object": "refund",
        "amount": 1000,
        "payment_intent": late["provider_ref"],
        "status": "succeeded",
    }

    answer = post_signed(client, "evt_dashboard_again", "charge.refund.updated", dashboard)

    assert answer.status_code == 200 and answer.json == {"status": "processed"}
    counted = read(client, late["id"], admin)
    # Counted, and it stays `refunded`: `partially_refunded` would hold the order a second time.
    assert (counted["status"], counted["refunded_amount"]) == ("refunded", "10.00")
    assert [
        (e["payment_id"], e["amount"], e["full"]) for e in emitted(app, "payment.refunded")
    ] == [
        (late["id"], "60.50", True),
        (late["id"], "-60.50", False),
        (late["id"], "10.00", False),
    ]
    assert read(client, paid["id"], admin)["status"] == "succeeded"


def test_a_refunded_payment_whose_refund_failed_can_be_refunded_again_from_feira(
    client, user, admin, order, standin, app
):
    # Refunded in full, then its order (still pending: no event was relayed) paid by another
    # card; then the refund fails at the provider: the same state as a late success given back.
    placed = order()
    first = pay(client, user, placed["id"], payment_method="pm_card_refundFail").json
    url = f"/payments/{first['id']}/refund"
    assert client.post(url, json={}, headers=admin).json["status"] == "refunded"
    paid = pay(client, user, placed["id"]).json
    assert paid["status"] == "succeeded"
    [ref] = refund_refs(app, first["id"])
    flagged = fail_at_the_provider(client, admin, standin, first["id"], ref)
    assert (flagged["status"], flagged["refunded_amount"]) == ("refunded", "0.00")

    again = client.post(url, json={}, headers=admin)

    assert again.status_code == 200, again.json
    assert (again.json["status"], again.json["refunded_amount"]) == ("refunded", "60.50")
    assert [e["full"] for e in emitted(app, "payment.refunded")] == [True, False, True]
    assert read(client, paid["id"], admin)["status"] == "succeeded"
    # Nothing is left: a refunded payment refunded in full is still a 409.
    assert client.post(url, json={}, headers=admin).status_code == 409
