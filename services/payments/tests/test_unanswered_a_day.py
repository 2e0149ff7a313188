"""A payment the provider never answered (its answer and its webhook lost), first asked longer
ago than the provider keeps idempotency keys (a day): asked again with a key it forgot, the
provider would make a second PaymentIntent and charge the payer twice. It is asked nothing,
flagged for review instead; the webhook that names it still settles it."""

from datetime import timedelta

from sqlalchemy import func, update

from services.payments.models import Payment, db

from .conftest import emitted, eventually, intents_made, standin_events, standin_post
from .test_crashes import crash_at
from .test_webhooks import read, run_chores

BODY = {"method": "card", "payment_method": "pm_card_visa"}


def charged_a_day_ago(client, user, order, standin, app, headers) -> tuple[dict, dict, str]:
    """A card the provider charged a day ago, whose answer (the request died) and webhook were
    lost, and whose key the provider has forgotten since: the request's body, the payment, and
    its PaymentIntent's id."""
    body = {"order_id": order()["id"], **BODY}
    made_before = intents_made(standin)
    assert standin_post(standin, "/webhooks/drop", {"count": 1}).status_code == 200
    crash_at(client, "payments.provider_answered", body, headers)
    [intent_id] = intents_made(standin) - made_before
    with app.app_context():
        db.session.execute(update(Payment).values(created_at=func.now() - timedelta(hours=24)))
        db.session.commit()
        db.session.remove()
    store = standin.app.extensions["stripe_store"]
    with store.lock:
        for key in [key for key in store.idempotent if key.startswith("payment-")]:
            del store.idempotent[key]
    [payment] = client.get(f"/payments?order_id={body['order_id']}", headers=user).json["items"]
    assert (payment["status"], payment["provider_ref"]) == ("processing", None)
    return body, payment, intent_id


def flagged_unasked(payment: dict) -> bool:
    return (
        payment["status"] == "processing"
        and payment["needs_review"] is True
        and f"payment_id {payment['id']}" in payment["review_reason"]
    )


def charged_once(standin, intent_id: str) -> bool:
    return [event["type"] for event in standin_events(standin, intent_id)] == [
        "payment_intent.succeeded"
    ]


def resend_lost_webhook(standin, intent_id: str) -> None:
    [lost] = standin_events(standin, intent_id)
    assert lost["delivered"] is False
    assert standin_post(standin, f"/events/{lost['id']}/resend").status_code == 200


def test_reconciliation_asks_nothing_of_a_payment_unanswered_a_day_and_flags_it_once(
    client, user, order, standin, app
):
    _, payment, intent_id = charged_a_day_ago(client, user, order, standin, app, user)
    made = intents_made(standin)

    assert run_chores(app) == 1
    assert run_chores(app) == 0  # passed by from then on

    assert intents_made(standin) == made
    assert charged_once(standin, intent_id)
    assert flagged_unasked(read(client, payment["id"], user))


def test_a_webhook_still_settles_a_payment_flagged_for_being_unanswered_a_day(
    client, user, order, standin, app
):
    _, payment, intent_id = charged_a_day_ago(client, user, order, standin, app, user)
    run_chores(app)

    resend_lost_webhook(standin, intent_id)

    settled = eventually(
        lambda: (p := read(client, payment["id"], user))["status"] == "succeeded" and p
    )
    assert settled["provider_ref"] == intent_id
    assert emitted(app, "payment.succeeded") == [
        {
            "payment_id": payment["id"],
            "order_id": payment["order_id"],
            "amount": "60.50",
            "method": "card",
        }
    ]


def test_a_same_key_retry_of_a_payment_unanswered_a_day_asks_nothing_and_answers_it_as_it_is(
    client, user, order, standin, app
):
    headers = {**user, "Idempotency-Key": "unanswered-a-day"}
    body, payment, intent_id = charged_a_day_ago(client, user, order, standin, app, headers)
    made = intents_made(standin)

    retried = client.post("/payments", json=body, headers=headers)

    assert retried.status_code == 201, retried.json
    assert retried.json["id"] == payment["id"] and flagged_unasked(retried.json)
    assert intents_made(standin) == made
    assert charged_once(standin, intent_id)
    # Its key stays bound: once the webhook settled it, a retry hears how it ended.
    resend_lost_webhook(standin, intent_id)
    eventually(lambda: read(client, payment["id"], user)["status"] == "succeeded")
    again = client.post("/payments", json=body, headers=headers)
    assert (again.status_code, again.json["status"]) == (201, "succeeded")


def test_a_same_key_retry_a_day_later_of_a_payment_reconciliation_failed_answers_it_unflagged(
    client, user, order, standin, app
):
    """Refused with no PaymentIntent (provider_ref None), failed by reconciliation: answered,
    not "never answered"."""
    headers = {**user, "Idempotency-Key": "failed-a-day-ago"}
    body = {"order_id": order()["id"], "method": "card", "payment_method": "pm_card_nonsense"}
    crash_at(client, "payments.order_checked", body, headers)
    run_chores(app)
    with app.app_context():
        db.session.execute(update(Payment).values(created_at=func.now() - timedelta(hours=24)))
        db.session.commit()
        db.session.remove()
    made = intents_made(standin)

    retried = client.post("/payments", json=body, headers=headers)

    assert retried.status_code == 201, retried.json
    assert (retried.json["status"], retried.json["provider_ref"]) == ("failed", None)
    assert retried.json["failure_code"] == "resource_missing"
    assert retried.json["needs_review"] is False
    assert intents_made(standin) == made


def test_a_payment_unanswered_a_day_an_admin_marked_reviewed_is_neither_asked_nor_flagged_again(
    client, user, admin, order, standin, app
):
    headers = {**user, "Idempotency-Key": "reviewed-unanswered"}
    body, payment, intent_id = charged_a_day_ago(client, user, order, standin, app, headers)
    run_chores(app)
    flagged = read(client, payment["id"], admin)
    reviewed = client.post(
        f"/payments/{payment['id']}/reviewed",
        json={"review_reason": flagged["review_reason"]},
        headers=admin,
    )
    assert reviewed.status_code == 200, reviewed.json
    made = intents_made(standin)

    # Neither reconciliation nor a same-key retry puts it back in the admin's queue.
    assert run_chores(app) == 0
    assert client.post("/payments", json=body, headers=headers).status_code == 201
    assert run_chores(app) == 0

    after = read(client, payment["id"], admin)
    assert (after["status"], after["needs_review"]) == ("processing", False)
    assert intents_made(standin) == made
    assert charged_once(standin, intent_id)
    # Its webhook still settles it.
    resend_lost_webhook(standin, intent_id)
    eventually(lambda: read(client, payment["id"], user)["status"] == "succeeded")
