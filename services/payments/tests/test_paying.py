"""Paying an order by card and by PIX against the Stripe stand-in, over real HTTP: the amount is
the order's total, one open payment per order, only a pending order, Idempotency-Key."""

import binascii
import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select, update

from services.kit import Unavailable
from services.kit.testing import deliver, unreachable_url
from services.orders.models import Order
from services.orders.models import db as orders_db
from services.payments import payments, provider
from services.payments.models import IdempotencyKey, db

from .conftest import emitted, intents_made, order_status, relay, standin_events


def pay(client, headers, order_id, method="card", payment_method="pm_card_visa", **more):
    body = {"order_id": order_id, "method": method, **more}
    if payment_method is not None and method == "card":
        body["payment_method"] = payment_method
    return client.post("/payments", json=body, headers=headers)


def test_a_card_payment_succeeds_for_the_orders_total_and_the_order_becomes_paid(
    client, user, order, orders, app
):
    placed = order(price="30.25", quantity=2)
    response = pay(client, user, placed["id"])
    assert response.status_code == 201, response.json
    payment = response.json
    assert payment["status"] == "succeeded"
    assert payment["amount"] == "60.50" and payment["currency"] == "BRL"
    assert payment["provider_ref"].startswith("pi_")
    assert "pix" not in payment and payment["needs_review"] is False
    assert payment["failure_reason"] is None and payment["failure_code"] is None
    assert response.headers["Location"].endswith(f"/payments/{payment['id']}")
    assert emitted(app, "payment.succeeded") == [
        {"payment_id": payment["id"], "order_id": placed["id"], "amount": "60.50", "method": "card"}
    ]
    assert relay(app) == 1
    assert order_status(orders, placed["id"], user) == "paid"


def test_the_provider_is_asked_for_the_total_in_integer_centavos(client, user, order, standin):
    placed = order(price="0.10", quantity=7)
    payment = pay(client, user, placed["id"]).json
    intent = requests.get(
        f"{standin.url}/v1/payment_intents/{payment['provider_ref']}",
        headers={"Authorization": "Bearer sk_test_payments_suite"},
        timeout=10,
    ).json()
    assert intent["amount"] == 70 and intent["currency"] == "brl"
    assert intent["metadata"] == {"order_id": str(placed["id"]), "payment_id": str(payment["id"])}


def test_an_amount_in_the_body_is_refused_the_total_comes_from_orders(client, user, order):
    placed = order()
    response = pay(client, user, placed["id"], amount="0.01")
    assert response.status_code == 422
    assert "amount" in response.json["errors"]


def test_a_declined_card_fails_with_the_providers_reason_and_the_order_can_be_paid_again(
    client, user, order, orders, app
):
    placed = order()
    declined = pay(client, user, placed["id"], payment_method="pm_card_chargeDeclined")
    assert declined.status_code == 201, declined.json
    assert declined.json["status"] == "failed"
    assert declined.json["failure_reason"] == "Your card was declined."
    assert declined.json["failure_code"] == "generic_decline"
    assert emitted(app, "payment.failed") == [
        {
            "payment_id": declined.json["id"],
            "order_id": placed["id"],
            # notifications tells the order's client, with the amount.
            "client_id": placed["client_id"],
            "total": "60.50",
            "reason": "Your card was declined.",
            # notifications tells the client why from the code, in Portuguese, and what to do
            # from the method.
            "code": "generic_decline",
            "method": "card",
        }
    ]
    assert order_status(orders, placed["id"], user) == "pending"
    again = pay(client, user, placed["id"])
    assert again.status_code == 201 and again.json["status"] == "succeeded"


@pytest.mark.parametrize(
    ("card", "code", "reason"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "Your card was declined."),
        # Stripe's code is card_declined: its decline_code says why.
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "Your card has expired."),
    ],
)
def test_a_declined_card_answers_and_keeps_the_providers_decline_code_and_its_event_carries_it(
    client, user, order, app, card, code, reason
):
    placed = order()
    declined = pay(client, user, placed["id"], payment_method=card)
    assert declined.status_code == 201, declined.json
    assert declined.json["status"] == "failed"
    assert (declined.json["failure_code"], declined.json["failure_reason"]) == (code, reason)
    stored = client.get(f"/payments/{declined.json['id']}", headers=user).json
    assert (stored["failure_code"], stored["failure_reason"]) == (code, reason)
    [event] = emitted(app, "payment.failed")
    assert (event["code"], event["reason"]) == (code, reason)


@pytest.mark.parametrize("reported", ["with its PaymentIntent", "without one"])
def test_a_declined_card_whose_order_was_paid_by_hand_meanwhile_announces_no_failure(
    client, user, order, app, monkeypatch, reported
):
    placed = order()
    create = provider.create_intent

    def paid_by_hand_while_at_the_provider(payment, **ask):
        # An admin marks the order paid while the card is at the provider; then it is declined.
        paid_by_hand = {"order_id": placed["id"], "payment_id": None}
        assert deliver(app, "order.paid", paid_by_hand).json["status"] == "processed"
        if reported == "without one":
            raise provider.Declined(None, "Your card was declined.", "card_declined")
        return create(payment, **ask)

    monkeypatch.setattr(provider, "create_intent", paid_by_hand_while_at_the_provider)
    declined = pay(client, user, placed["id"], payment_method="pm_card_chargeDeclined")
    assert declined.status_code == 201, declined.json
    assert declined.json["status"] == "failed"
    # The client was told the order is paid: never "not approved, try again" after it.
    assert emitted(app, "payment.failed") == []


def test_a_card_that_needs_authentication_fails_with_authentication_required_and_frees_its_order(
    client, user, order, standin, app
):
    placed = order()
    asked = pay(client, user, placed["id"], payment_method="pm_card_authenticationRequired")
    assert asked.status_code == 201, asked.json
    assert asked.json["status"] == "failed"
    assert asked.json["failure_code"] == "authentication_required"
    intent = requests.get(
        f"{standin.url}/v1/payment_intents/{asked.json['provider_ref']}",
        headers={"Authorization": "Bearer sk_test_payments_suite"},
        timeout=10,
    ).json()
    assert intent["status"] == "requires_payment_method"
    [event] = emitted(app, "payment.failed")
    assert event["code"] == "authentication_required"
    again = pay(client, user, placed["id"])
    assert again.status_code == 201 and again.json["status"] == "succeeded"


def test_a_payment_method_the_provider_does_not_know_is_a_422_naming_it(client, user, order):
    placed = order()
    response = pay(client, user, placed["id"], payment_method="pm_card_nonsense")
    assert response.status_code == 422
    assert "payment_method" in response.json["errors"]
    # The order is not held by the refused attempt.
    assert pay(client, user, placed["id"]).status_code == 201


def test_a_card_payment_without_a_payment_method_is_a_422(client, user, order):
    placed = order()
    response = pay(client, user, placed["id"], payment_method=None)
    assert response.status_code == 422 and "payment_method" in response.json["errors"]


def test_an_unknown_order_is_a_422_naming_order_id(client, user):
    response = pay(client, user, 999_999)
    assert response.status_code == 422 and "order_id" in response.json["errors"]


def test_a_second_payment_of_a_paid_order_is_a_409(client, user, order):
    placed = order()
    assert pay(client, user, placed["id"]).status_code == 201
    again = pay(client, user, placed["id"])
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"
    # Told by the open-payment index's name, not by any refused write.
    assert again.json["detail"] == f"Order {placed['id']} already has an open payment"


def test_only_a_pending_order_can_be_paid(client, user, order, orders):
    placed = order()
    cancelled = orders.app.test_client().post(
        f"/orders/{placed['id']}/status", json={"status": "cancelled"}, headers=user
    )
    assert cancelled.status_code == 200
    assert pay(client, user, placed["id"]).status_code == 409


@pytest.mark.parametrize(
    ("total", "status", "detail"),
    [
        # Orders' API never makes one (prices are positive, an order has a line), but its
        # table allows a total of 0 (`total >= 0`): payments answers whatever orders shows.
        ("0.00", 409, "Order {id} has nothing to pay"),
        # Postgres' numeric holds NaN (and NaN >= 0 there): orders shows it as "NaN".
        ("NaN", 503, "The orders service answered something unreadable"),
    ],
)
def test_an_order_with_nothing_or_no_number_to_pay_is_refused_and_nothing_is_made(
    client, user, order, orders, app, standin, total, status, detail
):
    placed = order()
    with orders.app.app_context():
        orders_db.session.execute(
            update(Order).where(Order.id == placed["id"]).values(total=Decimal(total))
        )
        orders_db.session.commit()
        orders_db.session.remove()
    made_before = intents_made(standin)

    response = pay(client, user, placed["id"])

    assert response.status_code == status, response.json
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["detail"] == detail.format(id=placed["id"])
    assert intents_made(standin) == made_before
    assert client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"] == []
    assert emitted(app, "payment.failed") == []


def test_one_open_payment_per_order_however_many_try_at_once(served, user, order):
    placed = order()

    def attempt(_):
        return requests.post(
            f"{served.base_url}/payments",
            json={"order_id": placed["id"], "method": "pix"},
            headers=user,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(attempt, range(6)))
    assert codes == [201] + [409] * 5


def test_a_repeated_idempotency_key_answers_the_same_payment_and_charges_once(
    client, user, order, standin
):
    placed = order()
    headers = {**user, "Idempotency-Key": "pay-once"}
    first = pay(client, headers, placed["id"])
    second = pay(client, headers, placed["id"])
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json == second.json
    assert [e["type"] for e in standin_events(standin, first.json["provider_ref"])] == [
        "payment_intent.succeeded"
    ]


def crc16(payload: str) -> str:
    return f"{binascii.crc_hqx(payload.encode(), 0xFFFF):04X}"


def test_a_pix_payment_requires_action_with_a_valid_br_code_and_its_expiry(client, user, order):
    placed = order(price="12.34", quantity=1)
    response = pay(client, user, placed["id"], method="pix")
    assert response.status_code == 201, response.json
    payment = response.json
    assert payment["status"] == "requires_action"
    code = payment["pix"]["qr_code"]
    assert code.startswith("000201") and "br.gov.bcb.pix" in code
    assert "540512.34" in code and "5802BR" in code
    assert code[-8:-4] == "6304" and code[-4:] == crc16(code[:-4])
    assert payment["pix"]["expires_at"]


def test_the_provider_unreachable_is_a_503_and_the_payment_waits_for_reconciliation(
    client, user, order, app
):
    placed = order()
    url = app.config["PAYMENTS_PROVIDER_URL"]
    app.config["PAYMENTS_PROVIDER_URL"] = unreachable_url()
    app.extensions.pop("payments.provider", None)
    try:
        response = pay(client, user, placed["id"])
    finally:
        app.config["PAYMENTS_PROVIDER_URL"] = url
        app.extensions.pop("payments.provider", None)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    listed = client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"]
    assert [(p["status"], p["provider_ref"]) for p in listed] == [("processing", None)]


def test_a_retry_with_the_same_key_after_a_503_resumes_the_same_payment_and_charges_once(
    client, user, order, app, standin
):
    placed = order()
    headers = {**user, "Idempotency-Key": "pay-after-503"}
    made_before = intents_made(standin)
    url = app.config["PAYMENTS_PROVIDER_URL"]
    app.config["PAYMENTS_PROVIDER_URL"] = unreachable_url()
    app.extensions.pop("payments.provider", None)
    try:
        down = pay(client, headers, placed["id"], method="pix")
    finally:
        app.config["PAYMENTS_PROVIDER_URL"] = url
        app.extensions.pop("payments.provider", None)
    assert down.status_code == 503
    [waiting] = client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"]
    again = pay(client, headers, placed["id"], method="pix")
    assert again.status_code == 201, again.json
    assert again.json["id"] == waiting["id"]
    assert again.json["status"] == "requires_action" and again.json["pix"]["qr_code"]
    made = intents_made(standin) - made_before
    assert made == {again.json["provider_ref"]}
    replay = pay(client, headers, placed["id"], method="pix")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json == again.json


def test_a_payment_dropped_when_orders_fails_its_second_read_leaves_no_key_pointing_at_it(
    client, user, order, app, monkeypatch
):
    placed = order()
    headers = {**user, "Idempotency-Key": "orders-down"}
    read_order, reads = payments._order, []

    def orders_down_on_the_second_read(order_id):
        reads.append(order_id)
        if len(reads) == 2:
            raise Unavailable("The orders service could not show the order")
        return read_order(order_id)

    monkeypatch.setattr(payments, "_order", orders_down_on_the_second_read)
    down = pay(client, headers, placed["id"])
    assert down.status_code == 503
    assert client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"] == []
    with app.app_context():
        assert db.session.scalars(select(IdempotencyKey)).all() == []
        db.session.remove()
    again = pay(client, headers, placed["id"])
    assert again.status_code == 201 and again.json["status"] == "succeeded"


def test_payments_are_listed_and_filtered_and_one_is_read(client, user, order):
    first, second = order(), order()
    card = pay(client, user, first["id"]).json
    pix = pay(client, user, second["id"], method="pix").json
    everything = client.get("/payments", headers=user).json
    assert everything["total"] == 2 and [p["id"] for p in everything["items"]] == [
        pix["id"],
        card["id"],
    ]
    assert [p["id"] for p in client.get("/payments?method=pix", headers=user).json["items"]] == [
        pix["id"]
    ]
    by_status = client.get("/payments?status=succeeded", headers=user).json["items"]
    assert [p["id"] for p in by_status] == [card["id"]]
    by_order = client.get(f"/payments?order_id={first['id']}", headers=user).json["items"]
    assert [p["id"] for p in by_order] == [card["id"]]
    assert client.get(f"/payments/{pix['id']}", headers=user).json == pix
    assert client.get("/payments/999999", headers=user).status_code == 404


def test_reading_payments_needs_a_signed_in_user(client):
    assert client.get("/payments").status_code == 401


@pytest.mark.parametrize(
    "number", ["4242424242424242", "4242 4242 4242 4242", "4000-0566-5566-5556", "378282246310005"]
)
def test_a_card_number_is_never_accepted_and_the_422_does_not_repeat_it(
    client, user, order, app, number
):
    placed = order()
    response = pay(client, user, placed["id"], payment_method=number)
    assert response.status_code == 422
    [message] = response.json["errors"]["payment_method"]
    assert "card number is never accepted" in message
    digits = "".join(c for c in number if c.isdigit())
    assert digits[:6] not in response.get_data(as_text=True)
    assert client.get("/payments", headers=user).json["items"] == []


@pytest.mark.parametrize("value", ["card_visa", "PM_card_visa", "pm_", "pm_card visa", "pm_\n"])
def test_only_a_provider_payment_method_id_is_accepted(client, user, order, value):
    placed = order()
    response = pay(client, user, placed["id"], payment_method=value)
    # Refused before the provider is asked (it would refuse them too, in its own words).
    assert response.json["errors"] == {
        "payment_method": ["A provider payment-method id: pm_ and letters, digits or _."]
    }
    assert client.get("/payments", headers=user).json["items"] == []


def test_the_stripe_sdk_logs_no_request_or_answer_below_warning(client, user, order, caplog):
    placed = order()
    with caplog.at_level(logging.DEBUG):
        assert pay(client, user, placed["id"]).status_code == 201
        other = order()
        assert pay(client, user, other["id"], payment_method="pm_card_nonsense").status_code == 422
    assert [r.getMessage() for r in caplog.records if r.name.startswith("stripe")] == []


def test_a_payment_method_the_provider_does_not_know_leaves_no_payment_and_tells_no_one(
    client, user, order, app
):
    placed = order()
    headers = {**user, "Idempotency-Key": "pay-unknown-pm"}
    response = pay(client, headers, placed["id"], payment_method="pm_card_nonsense")
    assert response.status_code == 422
    # The provider's message quotes what was sent: it is not repeated.
    assert response.json["errors"] == {
        "payment_method": ["The payment provider does not know this method."]
    }
    assert "pm_card_nonsense" not in response.get_data(as_text=True)
    # Nothing was charged and no PaymentIntent exists: no row, no payment.failed (the client
    # is not told "not approved", and the order's one payment_failed message is kept).
    assert client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"] == []
    assert emitted(app, "payment.failed") == []
    with app.app_context():
        assert db.session.scalars(select(IdempotencyKey)).all() == []
        db.session.remove()
    # The key was let go: the same request is asked again, not answered from the key.
    again = pay(client, headers, placed["id"], payment_method="pm_card_nonsense")
    assert again.status_code == 422 and "Idempotent-Replayed" not in again.headers


def test_an_order_changed_while_its_payment_was_being_made_is_a_409_and_nothing_is_charged(
    client, user, admin, order, orders, app, monkeypatch
):
    from services.payments import payments

    placed = order()
    first_read = payments._order

    def read_then_the_order_is_cancelled(order_id):
        # What payments read is right when read; the admin cancels just after, before the
        # payment's row exists (its order.cancelled then finds nothing to let go of).
        seen = first_read(order_id)
        monkeypatch.setattr(payments, "_order", first_read)
        cancelled = orders.app.test_client().post(
            f"/orders/{order_id}/status", json={"status": "cancelled"}, headers=admin
        )
        assert cancelled.status_code == 200
        return seen

    monkeypatch.setattr(payments, "_order", read_then_the_order_is_cancelled)
    response = pay(client, user, placed["id"])
    assert response.status_code == 409, response.json
    assert "changed while it was being paid" in response.json["detail"]
    assert client.get(f"/payments?order_id={placed['id']}", headers=user).json["items"] == []
    assert emitted(app, "payment.succeeded") == []
