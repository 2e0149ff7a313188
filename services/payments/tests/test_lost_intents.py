"""A PaymentIntent the provider no longer knows (404 `resource_missing`: the stand-in restarted,
its state being in memory, or the key switched between test and live) ends its payment, flagged
for an admin, instead of holding its order open and failing every reconciliation and every
order event about it for ever."""

import time

import pytest

from services.kit.testing import deliver

from .conftest import emitted, order_status, relay
from .test_paying import pay
from .test_webhooks import LET_GO, read, run_chores


def forgotten(standin, intent_id: str) -> None:
    """The provider no longer knows the PaymentIntent, as after the stand-in's restart."""
    store = standin.app.extensions["stripe_store"]
    with store.lock:
        del store.payment_intents[intent_id]


def test_a_payment_whose_intent_the_provider_lost_fails_at_reconciliation_flagged_for_review(
    client, user, order, standin, app
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    forgotten(standin, payment["provider_ref"])
    run_chores(app)
    lost = read(client, payment["id"], user)
    assert (lost["status"], lost["failure_code"]) == ("failed", "resource_missing")
    assert lost["needs_review"] is True
    assert payment["provider_ref"] in lost["review_reason"]
    assert [e["code"] for e in emitted(app, "payment.failed")] == ["resource_missing"]
    # Settled: reconciliation asks no more, and the order can be paid anew.
    assert run_chores(app) == 0
    assert pay(client, user, placed["id"], method="pix").status_code == 201


def test_an_expired_pix_whose_intent_the_provider_lost_is_canceled_and_its_order_cancelled(
    client, user, order, standin, orders, app
):
    app.config["PIX_EXPIRES_S"] = 1
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    forgotten(standin, payment["provider_ref"])
    time.sleep(1.2)
    run_chores(app)
    expired = read(client, payment["id"], user)
    assert (expired["status"], expired["needs_review"]) == ("canceled", True)
    assert emitted(app, "payment.expired") == [
        {"payment_id": payment["id"], "order_id": placed["id"]}
    ]
    relay(app)
    assert order_status(orders, placed["id"], user) == "cancelled"


@pytest.mark.parametrize("why", LET_GO)
def test_an_order_letting_go_of_a_payment_whose_intent_the_provider_lost_cancels_it_for_review(
    client, user, order, standin, app, why
):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    forgotten(standin, payment["provider_ref"])
    event, data = LET_GO[why]
    answer = deliver(app, event, {"order_id": placed["id"], **data})
    assert answer.status_code == 200 and answer.json == {"status": "processed"}
    canceled = read(client, payment["id"], user)
    assert (canceled["status"], canceled["needs_review"]) == ("canceled", True)
    # The client is not told "not approved" of a payment their order let go of.
    assert emitted(app, "payment.failed") == []
