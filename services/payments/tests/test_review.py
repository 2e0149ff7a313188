"""An admin marks a flagged payment reviewed (POST /payments/{id}/reviewed), sending the reason
as they read it: the flag is cleared, who and when recorded, the reason kept, and the payment
leaves `?needs_review=true`. A new cause before the review is added to the reason (a line of its
own), so a reason read before it is a 409 and the flag stays; a new cause after the review flags it
again, the reason only that cause. Flagged here by a real path: a refund of Stripe's
`pm_card_refundFail` that then fails at the provider (`refund.failed`)."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from services.kit.testing import answered_behind
from services.payments import reasons
from services.payments.models import REVIEW_CAUSE_MAX, REVIEW_REASON_MAX, Payment, db
from services.payments.payments import _flag, get_payment

from .test_failed_refunds import failed_refund, post_signed, refund_refs
from .test_paying import pay
from .test_webhooks import read


@pytest.fixture
def refunded_twice(client, user, admin, order, app):
    """A card payment with two refunds made (10.00, 20.00), both pending at the provider, and
    `fail(n)`: the provider fails the n-th, which flags the payment; it answers the payment."""
    placed = order()
    payment = pay(client, user, placed["id"], payment_method="pm_card_refundFail").json
    url = f"/payments/{payment['id']}/refund"
    for amount in ("10.00", "20.00"):
        assert client.post(url, json={"amount": amount}, headers=admin).status_code == 200
    refs = refund_refs(app, payment["id"])

    def fail(n: int) -> dict:
        body = failed_refund(payment, refs[n], 1000 * (n + 1))
        told = post_signed(client, f"evt_review_{n}", "refund.failed", body)
        assert told.json == {"status": "processed"}
        flagged = read(client, payment["id"], admin)
        assert flagged["needs_review"] is True and refs[n] in flagged["review_reason"]
        return flagged

    return payment, fail


def mark_reviewed(client, payment_id, headers, reason):
    return client.post(
        f"/payments/{payment_id}/reviewed", json={"review_reason": reason}, headers=headers
    )


def queue(client, admin) -> list[int]:
    listed = client.get("/payments?needs_review=true", headers=admin)
    assert listed.status_code == 200
    return [p["id"] for p in listed.json["items"]]


def test_an_admin_marks_a_flagged_payment_reviewed_and_it_leaves_the_review_queue(
    client, admin, refunded_twice, caplog
):
    payment, fail = refunded_twice
    flagged = fail(0)
    assert queue(client, admin) == [payment["id"]]

    with caplog.at_level(logging.INFO, logger="feira.payments"):
        reviewed = mark_reviewed(client, payment["id"], admin, flagged["review_reason"])

    assert reviewed.status_code == 200, reviewed.json
    body = reviewed.json
    assert (body["needs_review"], body["reviewed_by"]) == (False, 1)
    assert body["review_reason"] == flagged["review_reason"]
    at = datetime.fromisoformat(body["reviewed_at"])
    assert datetime.now(UTC) - timedelta(minutes=1) < at <= datetime.now(UTC)
    assert read(client, payment["id"], admin) == body
    assert queue(client, admin) == []
    [line] = [r.getMessage() for r in caplog.records if "reviewed" in r.getMessage()]
    assert line == f"payment {payment['id']}: marked reviewed by admin 1"
    # Reviewed already: nothing left to clear.
    again = mark_reviewed(client, payment["id"], admin, flagged["review_reason"])
    assert again.status_code == 409


def test_a_reviewed_payment_flagged_again_is_back_in_the_queue_with_its_new_reason(
    client, admin, refunded_twice
):
    payment, fail = refunded_twice
    first = fail(0)
    assert mark_reviewed(client, payment["id"], admin, first["review_reason"]).status_code == 200

    second = fail(1)

    # Reviewed: the new cause is the whole reason, the old one no longer in it.
    assert "\n" not in second["review_reason"]
    assert second["review_reason"] != first["review_reason"]
    assert queue(client, admin) == [payment["id"]]
    # The last review stays on record until the next one.
    assert second["reviewed_by"] == 1 and second["reviewed_at"] is not None
    cleared = mark_reviewed(client, payment["id"], admin, second["review_reason"])
    assert cleared.status_code == 200 and cleared.json["needs_review"] is False


def test_a_reason_replaced_since_it_was_read_is_a_409_and_the_payment_stays_flagged(
    client, admin, refunded_twice
):
    payment, fail = refunded_twice
    read_by_the_admin = fail(0)["review_reason"]
    now = fail(1)

    stale = mark_reviewed(client, payment["id"], admin, read_by_the_admin)

    assert stale.status_code == 409
    assert stale.headers["Content-Type"] == "application/problem+json"
    assert stale.json["detail"] == f"Payment {payment['id']}'s review reason changed: read it again"
    assert read(client, payment["id"], admin) == now
    assert queue(client, admin) == [payment["id"]]


def test_a_second_cause_before_the_review_is_added_after_the_first_and_both_are_cleared_at_once(
    client, admin, refunded_twice
):
    payment, fail = refunded_twice
    first = fail(0)["review_reason"]

    both = fail(1)["review_reason"]

    [earlier, later] = both.split("\n")
    assert earlier == first
    assert later.startswith("The refund ") and later != first
    assert mark_reviewed(client, payment["id"], admin, later).status_code == 409
    assert mark_reviewed(client, payment["id"], admin, both).status_code == 200
    assert queue(client, admin) == []


def flag(app, payment_id: int, template: str, **fields) -> None:
    """A cause added as a flagger adds it, in a transaction of its own."""
    with app.app_context():
        _flag(get_payment(payment_id, lock=True), template, **fields)
        db.session.commit()
        db.session.remove()


def test_a_cause_already_in_the_reason_is_not_written_twice(client, admin, app, refunded_twice):
    payment, fail = refunded_twice
    first = fail(0)["review_reason"]

    flag(app, payment["id"], reasons.REFUND_LOST, refund_ref="re_1", amount="1.00")
    flag(app, payment["id"], reasons.REFUND_LOST, refund_ref="re_1", amount="1.00")

    lost = reasons.REFUND_LOST.format(refund_ref="re_1", amount="1.00")
    assert read(client, payment["id"], admin)["review_reason"] == f"{first}\n{lost}"


def test_a_cause_is_one_line_of_at_most_its_length_whatever_the_provider_wrote(
    client, admin, app, refunded_twice
):
    payment, fail = refunded_twice
    first = fail(0)["review_reason"]

    flag(
        app,
        payment["id"],
        reasons.REFUND_REFUSED,
        why=reasons.ORDER_CANCELLED,
        refused="Line one\r\nline two\rline three\nline four " + "x" * REVIEW_CAUSE_MAX,
    )

    [earlier, cause] = read(client, payment["id"], admin)["review_reason"].split("\n")
    assert earlier == first
    assert cause.startswith(
        "Its order was cancelled; the refund was refused: Line one line two line three line four x"
    )
    assert len(cause) == REVIEW_CAUSE_MAX


def test_a_wording_not_among_the_reasons_is_refused(app, refunded_twice):
    payment, _ = refunded_twice
    with pytest.raises(ValueError, match="not a review reason"):
        flag(app, payment["id"], "Something went wrong")


def test_past_what_the_column_holds_the_held_text_is_cut_so_the_new_cause_is_read(
    client, admin, app, refunded_twice
):
    payment, fail = refunded_twice
    first = fail(0)["review_reason"]
    # Earlier causes that leave room for 40 characters of a new one (its line break included).
    held = first + "\n" + "x" * (REVIEW_REASON_MAX - len(first) - 1 - 40)
    with app.app_context():
        db.session.execute(
            update(Payment).where(Payment.id == payment["id"]).values(review_reason=held)
        )
        db.session.commit()
        db.session.remove()

    reason = fail(1)["review_reason"]

    # The oldest cause whole, the new one whole after it: a review of `held` is refused.
    assert len(reason) == REVIEW_REASON_MAX
    assert reason.startswith(first + "\nxxx")
    *_, cause = reason.split("\n")
    assert cause.startswith("The refund ") and cause.endswith(
        "refund it again or settle it with them"
    )
    assert mark_reviewed(client, payment["id"], admin, held).status_code == 409


def test_a_held_reason_cut_just_after_a_line_break_leaves_no_empty_cause(
    client, admin, app, refunded_twice
):
    payment, fail = refunded_twice
    first = fail(0)["review_reason"]
    lost = reasons.REFUND_LOST.format(refund_ref="re_1", amount="1.00")
    # The cut to make room for `lost` (and its line break) falls just after a line break.
    kept = REVIEW_REASON_MAX - 1 - len(lost)
    held = first + "\n" + "x" * (kept - len(first) - 2) + "\n" + "y" * 50
    with app.app_context():
        db.session.execute(
            update(Payment).where(Payment.id == payment["id"]).values(review_reason=held)
        )
        db.session.commit()
        db.session.remove()

    flag(app, payment["id"], reasons.REFUND_LOST, refund_ref="re_1", amount="1.00")

    causes = read(client, payment["id"], admin)["review_reason"].split("\n")
    assert "" not in causes
    assert (causes[0], causes[-1]) == (first, lost)


def test_a_cause_added_while_the_review_is_being_marked_is_a_409_and_the_flag_stays(
    client, admin, app, refunded_twice
):
    payment, fail = refunded_twice
    read_by_the_admin = fail(0)["review_reason"]
    with app.app_context(), db.engine.connect() as holder:
        # A flagger's transaction, not yet committed: a new cause added to the reason.
        holder.execute(
            text(
                "UPDATE payments.payments SET review_reason = review_reason || :cause "
                "WHERE id = :id"
            ),
            {"cause": "\nA new cause", "id": payment["id"]},
        )
        answer = answered_behind(
            app,
            holder,
            lambda: mark_reviewed(app.test_client(), payment["id"], admin, read_by_the_admin),
        )

    assert answer.status_code == 409, answer.json
    now = read(client, payment["id"], admin)
    assert now["needs_review"] is True
    assert now["review_reason"] == read_by_the_admin + "\nA new cause"


def test_a_payment_never_flagged_is_a_409_and_one_nobody_made_a_404(client, user, admin, order):
    payment = pay(client, user, order()["id"]).json

    unflagged = mark_reviewed(client, payment["id"], admin, "anything")
    nobody = mark_reviewed(client, 2147483000, admin, "anything")

    assert unflagged.status_code == 409
    assert unflagged.json["detail"] == f"Payment {payment['id']} is not flagged for review"
    assert read(client, payment["id"], admin)["reviewed_at"] is None
    assert nobody.status_code == 404
    assert nobody.headers["Content-Type"] == "application/problem+json"


def test_a_user_may_not_mark_a_payment_reviewed(client, user, admin, refunded_twice):
    payment, fail = refunded_twice
    flagged = fail(0)

    answer = mark_reviewed(client, payment["id"], user, flagged["review_reason"])

    assert answer.status_code == 403
    assert read(client, payment["id"], admin) == flagged


def test_no_reason_or_one_longer_than_the_column_is_a_422_naming_it_and_no_body_a_400(
    client, admin, refunded_twice
):
    payment, fail = refunded_twice
    flagged = fail(0)
    url = f"/payments/{payment['id']}/reviewed"

    for body in (
        {},
        {"review_reason": "x" * (REVIEW_REASON_MAX + 1)},
        {"review_reason": None},
        {"review_reason": ""},
    ):
        answer = client.post(url, json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.json)
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert "review_reason" in str(answer.json), answer.json
    no_body = client.post(url, headers=admin)
    assert no_body.status_code == 400
    assert no_body.headers["Content-Type"] == "application/problem+json"
    assert read(client, payment["id"], admin) == flagged
