"""Rules whose break no other test of the suite would see: a `canceled` ranks with `succeeded`
and never undoes it, a redelivered event id is answered `duplicate`, a refund of more than is
left is refused here (not only by the provider), and an order whose total changed (still
pending) between payments' two reads is not charged."""

from .conftest import WEBHOOK_SECRET, emitted
from .test_paying import pay
from .test_webhooks import event_body, paid_in_full, pix_paid, read, signed

URL = "/payments/webhooks/stripe"


def test_a_late_canceled_event_never_undoes_a_succeeded_payment(client, user, order, standin, app):
    _, payment = pix_paid(client, user, order, standin)
    assert payment["status"] == "succeeded"
    body = event_body(
        "evt_late_cancel",
        "payment_intent.canceled",
        {"id": payment["provider_ref"], "status": "canceled"},
    )
    answer = client.post(URL, data=body, headers={"Stripe-Signature": signed(body, WEBHOOK_SECRET)})
    assert answer.status_code == 200
    assert read(client, payment["id"], user)["status"] == "succeeded"


def test_a_redelivered_event_id_is_answered_duplicate_not_processed_again(client, user, order):
    placed = order()
    payment = pay(client, user, placed["id"], method="pix").json
    body = event_body("evt_twice", "payment_intent.succeeded", paid_in_full(payment))
    headers = {"Stripe-Signature": signed(body, WEBHOOK_SECRET)}
    assert client.post(URL, data=body, headers=headers).json == {"status": "processed"}
    assert client.post(URL, data=body, headers=headers).json == {"status": "duplicate"}


def test_a_refund_of_more_than_is_left_is_refused_by_payments_itself(client, user, admin, order):
    placed = order()
    payment = pay(client, user, placed["id"]).json
    too_much = client.post(
        f"/payments/{payment['id']}/refund", json={"amount": "60.51"}, headers=admin
    )
    assert too_much.status_code == 422
    # Payments' own words: the provider was not asked (its refusal would read otherwise).
    assert too_much.json["errors"] == {"amount": ["At most 60.50 is left to refund."]}
    assert read(client, payment["id"], admin)["refunded_amount"] == "0.00"


def test_an_order_edited_to_another_total_while_being_paid_is_a_409_and_nothing_is_charged(
    client, user, order, orders, app, monkeypatch
):
    from services.payments import payments

    placed = order(price="30.25", quantity=2)
    first_read = payments._order

    def read_then_the_order_is_edited(order_id):
        # Still pending when read again, but its total is no longer the one being charged.
        seen = first_read(order_id)
        monkeypatch.setattr(payments, "_order", first_read)
        product_id = placed["items"][0]["product_id"]
        edited = orders.app.test_client().patch(
            f"/orders/{order_id}",
            json={"items": [{"product_id": product_id, "quantity": 3}]},
            headers=user,
        )
        assert edited.status_code == 200, edited.json
        assert edited.json["status"] == "pending" and edited.json["total"] == "90.75"
        return seen

    monkeypatch.setattr(payments, "_order", read_then_the_order_is_edited)
    response = pay(client, user, placed["id"])
    assert response.status_code == 409, response.json
    assert "changed while it was being paid" in response.json["detail"]
    assert client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"] == []
    assert emitted(app, "payment.succeeded") == []
