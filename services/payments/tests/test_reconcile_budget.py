"""Reconciliation runs in payments' relay loop, which delivers none of its events meanwhile: with
a slow provider a pass stops starting payments once its budget is spent, and the next pass takes
those it left, payments and refunds whose answer was lost alike."""

import pytest

from services.payments import payments, provider

from .conftest import emitted, standin_events, standin_post
from .test_failed_refunds import refunds_recorded
from .test_lost_refunds import refund_answer_lost
from .test_paying import pay
from .test_webhooks import read, run_chores

# Each provider call takes this long (on the pass's clock): two calls spend a 5 s budget.
SLOW_S = 3.0


@pytest.fixture
def slow_provider(monkeypatch):
    """The provider answering every reconciliation call SLOW_S later, on a clock of the test's."""
    clock = [0.0]

    def slow(call):
        def answered_late(*args, **kwargs):
            clock[0] += SLOW_S
            return call(*args, **kwargs)

        return answered_late

    monkeypatch.setattr(payments, "monotonic", lambda: clock[0])
    monkeypatch.setattr(provider, "retrieve_intent", slow(provider.retrieve_intent))
    monkeypatch.setattr(provider, "refund", slow(provider.refund))


def asks(app, payment_id) -> list[str]:
    """The states of the payment's refund asks, in order."""
    return refunds_recorded(app, payment_id)[1]


def test_a_pass_stops_at_its_budget_with_a_slow_provider_and_the_next_takes_the_rest(
    client, user, admin, order, standin, app, slow_provider
):
    assert payments.RECONCILE_BUDGET_S == 5 and app.config["PAYMENTS_RECONCILE_INTERVAL_S"] >= 10
    lost = []
    for _ in range(3):
        payment = pay(client, user, order()["id"], method="pix").json
        assert standin_post(standin, "/webhooks/drop", {"count": 1}).status_code == 200
        standin_post(standin, f"/payment_intents/{payment['provider_ref']}/pay")
        assert [e["delivered"] for e in standin_events(standin, payment["provider_ref"])] == [False]
        lost.append(payment["id"])
    refunded = pay(client, user, order()["id"]).json
    refund_answer_lost(client, admin, refunded, "10.00")
    assert asks(app, refunded["id"]) == ["open"]

    # Two slow calls spend the budget: the two oldest are settled, the rest left as they were.
    assert run_chores(app) == 2
    assert [read(client, i, user)["status"] for i in lost] == [
        "succeeded",
        "succeeded",
        "requires_action",
    ]
    assert asks(app, refunded["id"]) == ["open"]

    # The next pass starts with what the first left: the last payment and the lost refund.
    assert run_chores(app) == 2
    assert read(client, lost[2], user)["status"] == "succeeded"
    assert asks(app, refunded["id"]) == ["made"]
    assert sorted(e["payment_id"] for e in emitted(app, "payment.succeeded")) == sorted(
        [*lost, refunded["id"]]
    )
