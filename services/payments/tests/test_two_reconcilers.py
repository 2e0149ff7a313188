"""Two copies of payments' relay (SCALE=2) reconciling at once, for real on the test database and
the Stripe stand-in: a payment whose webhook was lost succeeds once (one `payment.succeeded`),
and the reconciliation chore runs in one copy at a time."""

from services.kit.testing import at_once, chore_asked_while_running
from services.payments import payments
from services.payments.models import outbox

from .conftest import emitted, standin_events, standin_post
from .test_paying import pay


def test_two_reconcilers_racing_settle_a_lost_webhooks_payment_once(
    client, user, order, standin, app
):
    placed = [order() for _ in range(3)]
    paid = [pay(client, user, p["id"], method="pix").json for p in placed]
    for payment in paid:
        assert standin_post(standin, "/webhooks/drop", {"count": 1}).status_code == 200
        standin_post(standin, f"/payment_intents/{payment['provider_ref']}/pay")
        [lost] = standin_events(standin, payment["provider_ref"])
        assert lost["delivered"] is False
    at_once(app, payments.reconcile)
    succeeded = emitted(app, "payment.succeeded")
    assert sorted(e["payment_id"] for e in succeeded) == sorted(p["id"] for p in paid)


def test_the_reconciliation_chore_runs_in_one_relay_copy_at_a_time(client, app):
    # Payments' chores (each app the session builds adds its own; any one of them will do).
    ran = chore_asked_while_running(app, outbox, 0)
    assert ran == [False, True], "the second copy found the first reconciling and skipped"
