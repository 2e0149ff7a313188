"""A refund the provider answered `pending` whose later events (`refund.updated`,
`refund.failed`, `charge.refund.updated`, `charge.refunded`) were all lost: reconciliation asks
the provider about it once it has been pending PAYMENTS_RECONCILE_AFTER_S, and applies the
answer as those webhooks would (`apply_refund_updated`); a younger one is not asked about. One
the provider no longer knows is flagged for review and asked about no more."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, update

from services.kit import Unavailable
from services.payments import provider
from services.payments.models import Payment, db

from .conftest import eventually, standin_events, standin_post
from .test_failed_refunds import refund_refs, refunds_recorded
from .test_paying import pay
from .test_webhooks import read, run_chores


@pytest.fixture
def pending(client, user, admin, order, app):
    """A card payment of 60.50 (`pm_card_refundFail`: its refunds are made `pending`) with a
    refund of 10.00 made, pending; the payment and the refund's provider id."""
    payment = pay(client, user, order()["id"], payment_method="pm_card_refundFail").json
    made = client.post(f"/payments/{payment['id']}/refund", json={"amount": "10.00"}, headers=admin)
    assert made.status_code == 200, made.json
    assert (made.json["status"], made.json["refunded_amount"]) == ("partially_refunded", "10.00")
    [ref] = refund_refs(app, payment["id"])
    assert refunds_recorded(app, payment["id"])[0] == [("pending", "10.00")]
    return payment, ref


def fail_with_its_events_lost(standin, payment, ref) -> None:
    """The provider fails the refund; the three events telling it never reach payments."""
    assert standin_post(standin, "/webhooks/drop", {"count": 3}).status_code == 200
    assert standin_post(standin, f"/refunds/{ref}/fail").status_code == 200
    told = [
        e["delivered"]
        for e in standin_events(standin, payment["provider_ref"])
        if e["type"] in ("charge.refund.updated", "refund.updated", "refund.failed")
    ]
    assert told == [False, False, False]


def succeed_unheard(standin, ref) -> None:
    """The provider settles the refund as succeeded, and no event of it reaches payments (the
    stand-in fails pending refunds only: this is Stripe's other end of one)."""
    store = standin.app.extensions["stripe_store"]
    with store.lock:
        store.refunds[ref]["status"] = "succeeded"


def forget_refund(standin, ref) -> dict:
    """The provider no longer knows the refund, as after the stand-in's restart; the refund as
    it was there."""
    store = standin.app.extensions["stripe_store"]
    with store.lock:
        return store.refunds.pop(ref)


@pytest.fixture
def one_forgotten_one_settled(client, admin, pending, standin, app, monkeypatch):
    """`pending` and a second refund of 10.00; the provider forgets the first and settles the
    second unheard. The payment, both refunds' ids, the first as it was at the provider, and the
    refunds reconciliation asks the provider about."""
    payment, forgotten = pending
    made = client.post(f"/payments/{payment['id']}/refund", json={"amount": "10.00"}, headers=admin)
    assert made.status_code == 200, made.json
    [_, settled] = refund_refs(app, payment["id"])
    was = forget_refund(standin, forgotten)
    succeed_unheard(standin, settled)
    asked = []
    retrieve = provider.retrieve_refund
    monkeypatch.setattr(provider, "retrieve_refund", lambda r: asked.append(r) or retrieve(r))
    return payment, forgotten, settled, was, asked


def test_a_refund_the_provider_no_longer_knows_flags_its_payment_and_holds_back_no_other(
    client, admin, one_forgotten_one_settled, app, caplog
):
    payment, forgotten, settled, _, asked = one_forgotten_one_settled

    with caplog.at_level(logging.ERROR, logger="feira.payments"):
        assert run_chores(app) >= 1

    # The other refund's answer is applied; the forgotten one stays counted, as it was.
    assert refunds_recorded(app, payment["id"])[0] == [("pending", "10.00"), ("succeeded", "10.00")]
    flagged = read(client, payment["id"], admin)
    assert (flagged["status"], flagged["refunded_amount"]) == ("partially_refunded", "20.00")
    assert flagged["needs_review"] is True
    assert forgotten in flagged["review_reason"] and "dashboard" in flagged["review_reason"]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"payment {payment['id']}: the provider no longer knows its refund {forgotten}"
    ]
    assert asked == [forgotten, settled]
    # Set aside: not asked about again.
    assert run_chores(app) == 0
    assert asked == [forgotten, settled]


def test_a_webhook_of_a_refund_the_provider_had_forgotten_still_applies(
    client, admin, one_forgotten_one_settled, standin, app
):
    payment, forgotten, _, was, _ = one_forgotten_one_settled
    assert run_chores(app) >= 1
    # The provider knows it again (the key back to this account, say), and fails it.
    store = standin.app.extensions["stripe_store"]
    with store.lock:
        store.refunds[forgotten] = was
    assert standin_post(standin, f"/refunds/{forgotten}/fail").status_code == 200

    assert eventually(lambda: refunds_recorded(app, payment["id"])[0][0] == ("failed", "10.00"))
    uncounted = read(client, payment["id"], admin)
    assert (uncounted["status"], uncounted["refunded_amount"]) == ("partially_refunded", "10.00")
    assert forgotten in uncounted["review_reason"] and "not returned" in uncounted["review_reason"]


def test_a_pending_refund_that_failed_unheard_is_uncounted_and_flagged_by_reconciliation(
    client, admin, pending, standin, app
):
    payment, ref = pending
    fail_with_its_events_lost(standin, payment, ref)
    assert read(client, payment["id"], admin)["needs_review"] is False

    assert run_chores(app) >= 1

    settled = read(client, payment["id"], admin)
    assert (settled["status"], settled["refunded_amount"]) == ("succeeded", "0.00")
    assert settled["needs_review"] is True
    assert ref in settled["review_reason"] and "not returned" in settled["review_reason"]
    assert refunds_recorded(app, payment["id"])[0] == [("failed", "10.00")]
    # Settled: not asked about again.
    assert run_chores(app) == 0


def test_a_pending_refund_that_succeeded_unheard_is_settled_by_reconciliation(
    client, admin, pending, standin, app
):
    payment, ref = pending
    succeed_unheard(standin, ref)

    assert run_chores(app) >= 1

    settled = read(client, payment["id"], admin)
    assert (settled["status"], settled["refunded_amount"]) == ("partially_refunded", "10.00")
    assert settled["needs_review"] is False
    assert refunds_recorded(app, payment["id"])[0] == [("succeeded", "10.00")]
    assert run_chores(app) == 0


def test_a_refund_pending_for_less_than_reconcile_after_is_not_asked_about(
    client, admin, pending, standin, app, monkeypatch
):
    payment, ref = pending
    fail_with_its_events_lost(standin, payment, ref)
    # The payment untouched for longer than that: only the refund is young.
    with app.app_context():
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment["id"])
            .values(updated_at=func.now() - timedelta(hours=2))
        )
        db.session.commit()
        db.session.remove()
    asked = []
    retrieve = provider.retrieve_refund
    monkeypatch.setattr(provider, "retrieve_refund", lambda r: asked.append(r) or retrieve(r))
    monkeypatch.setitem(app.config, "PAYMENTS_RECONCILE_AFTER_S", 3600)

    assert run_chores(app) == 0

    assert asked == []
    assert refunds_recorded(app, payment["id"])[0] == [("pending", "10.00")]
    assert read(client, payment["id"], admin)["needs_review"] is False
    monkeypatch.setitem(app.config, "PAYMENTS_RECONCILE_AFTER_S", 0)
    assert run_chores(app) >= 1
    assert asked == [ref]
    assert refunds_recorded(app, payment["id"])[0] == [("failed", "10.00")]


def test_a_pending_refund_the_provider_cannot_answer_about_goes_behind_the_others(
    client, admin, pending, app, monkeypatch
):
    payment, _ = pending
    before = read(client, payment["id"], admin)["updated_at"]

    def down(ref):
        raise Unavailable("The payment provider cannot be reached")

    monkeypatch.setattr(provider, "retrieve_refund", down)

    assert run_chores(app) == 0

    put_back = read(client, payment["id"], admin)
    assert put_back["updated_at"] > before
    assert refunds_recorded(app, payment["id"])[0] == [("pending", "10.00")]
