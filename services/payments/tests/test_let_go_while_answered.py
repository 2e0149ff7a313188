"""An order that lets go of its payment (`_let_go`) just as the provider's first answer is being
applied to it, in another transaction: the order's event waits for that answer, then lets the
payment go as it then stands, so the money never stays with an order that no longer takes it."""

from services.kit.testing import answered_behind, deliver
from services.payments import payments, provider
from services.payments.models import db

from .conftest import emitted, standin_events, standin_post
from .test_crashes import crash_at


def test_an_order_cancelled_while_the_providers_answer_is_applied_waits_for_it_and_refunds_it(
    client, user, order, standin, app
):
    placed = order()
    body = {"order_id": placed["id"], "method": "card", "payment_method": "pm_card_visa"}
    # The card is charged at the provider; the request dies before applying its answer, and the
    # success webhook is lost: only the transaction below applies it.
    assert standin_post(standin, "/webhooks/drop", {"count": 1}).ok
    crash_at(client, "payments.provider_answered", body, user)
    [waiting] = client.get("/payments", headers=user).json["items"]
    assert (waiting["status"], waiting["provider_ref"]) == ("processing", None)
    cancelled = {"order_id": placed["id"], "previous_status": "pending"}

    with app.app_context():
        # As reconciliation applies it: the same PaymentIntent (the same key), on the locked row,
        # written and not yet committed while order.cancelled comes.
        intent = provider.create_intent(payments.get_payment(waiting["id"]))
        db.session.commit()
        payments.apply_intent(payments.get_payment(waiting["id"], lock=True), intent)
        db.session.flush()
        answer = answered_behind(
            app, db.session(), lambda: deliver(app, "order.cancelled", cancelled)
        )
        db.session.remove()

    assert answer.json == {"status": "processed"}
    payment = client.get(f"/payments/{waiting['id']}", headers=user).json
    assert payment["provider_ref"] == intent["id"]
    assert payment["status"] == "refunded" and payment["refunded_amount"] == "60.50"
    assert [e["payment_id"] for e in emitted(app, "payment.succeeded")] == [waiting["id"]]
    assert [(e["payment_id"], e["full"]) for e in emitted(app, "payment.refunded")] == [
        (waiting["id"], True)
    ]
    # Charged once, and all of it given back at the provider (its events, newest first).
    types = [e["type"] for e in standin_events(standin, intent["id"])]
    assert types == ["charge.refunded", "payment_intent.succeeded"]
