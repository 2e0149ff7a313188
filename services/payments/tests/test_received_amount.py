"""A PIX paid with another amount than its order's total (the stand-in's payer pays what it is
told): flagged, what came recorded as `received_amount`, and refunds give back at most that. Once
it is all back the payment is `refunded`, so the order can be paid anew."""

from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text, update

from services.kit.testing import deliver
from services.payments import provider, reasons
from services.payments.models import Payment, db

from .conftest import emitted, eventually
from .test_paying import pay
from .test_webhooks import pix_paid, read


def refunded_at_the_provider(standin, intent_id: str) -> list[int]:
    """The centavos of each refund the stand-in made of the PaymentIntent."""
    refunds = standin.app.extensions["stripe_store"].refunds.values()
    return [r["amount"] for r in refunds if r["payment_intent"] == intent_id]


def test_a_pix_paid_short_records_what_it_received(client, user, order, standin):
    _, payment = pix_paid(client, user, order, standin, amount_received=6000)
    assert (payment["status"], payment["needs_review"]) == ("succeeded", True)
    assert (payment["amount"], payment["received_amount"]) == ("60.50", "60.00")


def test_all_that_is_left_of_a_pix_paid_short_is_what_it_received_and_frees_its_order(
    client, user, admin, order, standin, app
):
    placed, payment = pix_paid(client, user, order, standin, amount_received=6000)

    refunded = client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin)

    assert refunded.status_code == 200, refunded.json
    assert (refunded.json["status"], refunded.json["refunded_amount"]) == ("refunded", "60.00")
    assert refunded_at_the_provider(standin, payment["provider_ref"]) == [6000]
    [event] = emitted(app, "payment.refunded")
    assert (event["amount"], event["refunded_amount"], event["full"]) == ("60.00", "60.00", True)
    # No longer open: the order, still pending (it was never paid), can be paid anew.
    anew = pay(client, user, placed["id"])
    assert anew.status_code == 201, anew.json
    assert anew.json["status"] == "succeeded"


def test_refunding_what_a_pix_paid_short_received_by_its_amount_makes_it_refunded(
    client, user, admin, order, standin
):
    _, payment = pix_paid(client, user, order, standin, amount_received=6000)
    url = f"/payments/{payment['id']}/refund"

    part = client.post(url, json={"amount": "50.00"}, headers=admin)
    rest = client.post(url, json={"amount": "10.00"}, headers=admin)

    assert part.json["status"] == "partially_refunded"
    assert (rest.json["status"], rest.json["refunded_amount"]) == ("refunded", "60.00")


def test_more_than_a_pix_paid_short_received_is_a_422_and_the_provider_is_not_asked(
    client, user, admin, order, standin
):
    _, payment = pix_paid(client, user, order, standin, amount_received=6000)

    too_much = client.post(
        f"/payments/{payment['id']}/refund", json={"amount": "60.50"}, headers=admin
    )

    assert too_much.status_code == 422
    assert too_much.json["errors"] == {"amount": ["At most 60.00 is left to refund."]}
    assert refunded_at_the_provider(standin, payment["provider_ref"]) == []
    assert read(client, payment["id"], admin)["status"] == "succeeded"


def test_a_pix_paid_over_its_amount_refunds_all_it_received(client, user, admin, order, standin):
    _, payment = pix_paid(client, user, order, standin, amount_received=7000)
    assert payment["received_amount"] == "70.00"

    refunded = client.post(f"/payments/{payment['id']}/refund", json={}, headers=admin)

    assert refunded.status_code == 200, refunded.json
    assert (refunded.json["status"], refunded.json["refunded_amount"]) == ("refunded", "70.00")
    assert refunded_at_the_provider(standin, payment["provider_ref"]) == [7000]


def test_a_cancelled_orders_pix_paid_short_is_refunded_what_it_received(
    client, user, admin, order, standin, app
):
    placed, payment = pix_paid(client, user, order, standin, amount_received=6000)

    cancelled = deliver(
        app, "order.cancelled", {"order_id": placed["id"], "previous_status": "pending"}
    )

    assert cancelled.json["status"] == "processed"
    after = eventually(
        lambda: (p := read(client, payment["id"], admin))["status"] == "refunded" and p
    )
    assert after["refunded_amount"] == "60.00"
    # Flagged only for the amount that came, not for a refund the provider refused.
    assert after["review_reason"].count("\n") == 0
    assert refunded_at_the_provider(standin, payment["provider_ref"]) == [6000]


def test_a_payment_whose_received_amount_is_not_known_refunds_its_amount(
    client, user, admin, order, standin, app
):
    """A payment the provider did not say it received for (null: one the received-amount
    migration could not tell, or a success event without `amount_received`) refunds at most its
    own amount, and all that is left of it by default."""
    placed = order(price="30.25", quantity=2)
    paid = pay(client, user, placed["id"]).json
    assert paid["received_amount"] == "60.50"
    with app.app_context():
        db.session.execute(
            update(Payment).where(Payment.id == paid["id"]).values(received_amount=None)
        )
        db.session.commit()

    too_much = client.post(
        f"/payments/{paid['id']}/refund", json={"amount": "60.51"}, headers=admin
    )
    refunded = client.post(f"/payments/{paid['id']}/refund", json={}, headers=admin)

    assert too_much.status_code == 422, too_much.json
    assert refunded.status_code == 200, refunded.json
    assert (refunded.json["status"], refunded.json["refunded_amount"]) == ("refunded", "60.50")
    assert refunded.json["received_amount"] is None
    assert refunded_at_the_provider(standin, paid["provider_ref"]) == [6050]


def test_the_received_amount_migration_fills_what_each_paid_payment_received(client, app):
    """Payments made before `received_amount`: one paid gets its amount, one flagged for another
    amount what its reason says came (and is `refunded` once that is all back), and one whose
    reason an admin's review or a later cause replaced, or not paid at all, stays unknown."""
    short = reasons.OTHER_AMOUNT.format(received=6000, cents=6050)
    # A provider that named no amount received: what came is not known.
    unknown = reasons.OTHER_AMOUNT.format(received=None, cents=6050)
    rows = {
        # id: (status, refunded_amount, review_reason, reviewed)
        1: ("succeeded", "0", None, False),
        2: ("succeeded", "0", short, False),
        3: ("partially_refunded", "60.00", short, False),
        4: ("partially_refunded", "10.00", None, True),
        5: ("succeeded", "0", unknown, False),
        6: ("processing", "0", None, False),
        7: ("failed", "0", None, False),
    }
    with app.app_context():
        db.session.remove()
        downgrade(revision="7d3a9e5c1f48")
        try:
            for id_, (status, refunded, reason, reviewed) in rows.items():
                db.session.execute(
                    text(
                        "INSERT INTO payments.payments (id, order_id, method, status, amount, "
                        "refunded_amount, review_reason, needs_review, reviewed_at, created_by, "
                        "nonce) VALUES (:id, :id, 'card', :status, 60.50, :refunded, :reason, "
                        ":flagged, CASE WHEN :reviewed THEN now() END, 10, :nonce)"
                    ),
                    {
                        "id": id_,
                        "status": status,
                        "refunded": refunded,
                        "reason": reason,
                        "flagged": reason is not None,
                        "reviewed": reviewed,
                        "nonce": f"n{id_}",
                    },
                )
            db.session.commit()
        finally:
            db.session.remove()
            upgrade()
        stored = {
            p.id: (p.status, p.received_amount)
            for p in db.session.scalars(select(Payment).order_by(Payment.id))
        }
        db.session.remove()
    assert stored == {
        1: ("succeeded", Decimal("60.50")),
        2: ("succeeded", Decimal("60.00")),
        3: ("refunded", Decimal("60.00")),
        4: ("partially_refunded", None),
        5: ("succeeded", None),
        6: ("processing", None),
        7: ("failed", None),
    }


@pytest.mark.parametrize("sent", [6000.9, "6000", True, None, [6000]])
def test_a_received_amount_that_is_no_json_integer_is_not_read_as_centavos(sent):
    """The provider's centavos are JSON integers: a float is not cut, a boolean not taken as 1."""
    with pytest.raises((TypeError, ValueError)):
        provider.reais(sent)
    assert provider.reais(6000) == Decimal("60.00")
