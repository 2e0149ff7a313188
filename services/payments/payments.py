"""What payments does: paying an order, applying the provider's word (its answer, its webhooks,
reconciliation: one code path), refunds, and what a cancelled order means for its payment.

Paying never charges twice and never loses a charge:
1. The order is read from orders with the caller's token: it must exist and be `pending`; its
   total is the amount (never the caller's).
2. The payment row is committed (`processing`) before the provider hears of it, bound to the
   request's Idempotency-Key; the partial unique index on `order_id` over the open statuses
   makes a second open payment of the order a 409, however many try at once. The order is read
   again, and that it was still payable recorded (`order_checked`): a row without it was never
   sent to the provider (`_ensure_still_payable`).
3. The provider is asked with the key `payment-<id>`, so asking again (a retried request,
   reconciliation after a crash or a timeout) is answered the same PaymentIntent. One its order
   let go of meanwhile is asked unconfirmed: never charged for the first time after that
   (`_first_intent`). One first asked longer ago than the provider keeps keys (`ASK_KEPT`) is
   not asked again but flagged for review (`_unasked`).
4. Its answer is applied like any webhook (`apply_intent`).

The provider's word moves a payment forward only: its statuses are ranked, and an event that
would move one backwards (a late `processing` after `succeeded`) changes nothing. A success
outranks a failure (a PaymentIntent whose attempt failed can still be paid); if another payment
of the order took it meanwhile, the late success is refunded in full at once. A success for
another amount than the payment's is not a success: the payment is flagged `needs_review` and
no `payment.succeeded` leaves. What the provider received is recorded (`received_amount`):
refunds give back at most that, and once it is all back the payment no longer holds its order.
Events to other services leave through the outbox in the transaction that changes the payment.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from time import monotonic

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from services.kit import Conflict, NotFound, Unavailable, Unprocessable, service, utcnow
from services.kit.db import violated
from services.kit.failpoints import failpoint
from services.kit.fields import event_amount, event_instant
from services.kit.idempotency import NO_KEY, Key, NoKey
from services.kit.outbox import reaches_outside

from . import provider, reasons
from .models import (
    OPEN,
    OPEN_PAYMENT_INDEX,
    REFUND_NOT_RETURNED,
    REFUND_UNSETTLED,
    REVIEW_CAUSE_MAX,
    REVIEW_REASON_MAX,
    REVIEW_REASONS_APART,
    UNSETTLED,
    IdempotencyKey,
    Payment,
    Refund,
    RefundAsk,
    WebhookEvent,
    db,
    outbox,
)

log = logging.getLogger("feira.payments")

# How far along a payment is: the provider's word never moves it to a lower rank. `failed` is
# below `succeeded`: Stripe puts a PaymentIntent whose attempt failed back to
# requires_payment_method, and it can still succeed.
RANK = {
    "processing": 0,
    "requires_action": 1,
    "failed": 2,
    "canceled": 3,
    "succeeded": 3,
    "partially_refunded": 4,
    "refunded": 5,
}
# How far along a refund is at the provider: its word never moves one back. Stripe's can fail
# after it succeeded (the card was closed meanwhile); failed and canceled are its ends.
REFUND_RANK = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}
# The events whose object is a Refund with a new status. Stripe sends `charge.refund.updated`
# for some payment methods only; `refund.updated` (and `refund.failed`) for every refund. One
# change told by two of them is applied once: REFUND_RANK only moves forward.
REFUND_EVENTS = ("charge.refund.updated", "refund.updated", "refund.failed")
RECONCILE_BATCH = 100
# How long a reconciliation pass starts payments for (`_reconcile_budget`): the relay delivers no
# event while it runs, so a PIX's `payment.succeeded` waits at most this (and one provider call).
# A healthy provider answers in well under a second: a pass still asks about dozens.
RECONCILE_BUDGET_S = 5.0
# The failure code of a payment whose PaymentIntent the provider no longer knows: Stripe's own.
LOST_CODE = "resource_missing"
# The provider keeps an idempotency key a day: a request asked longer ago than this whose answer
# was lost (a payment's first ask, a refund) is not asked again with its key (it could be
# executed a second time).
ASK_KEPT = timedelta(hours=23)


# --- reading ---


def search(args: dict):
    stmt = select(Payment)
    for name in ("order_id", "status", "method", "needs_review"):
        if name in args:
            stmt = stmt.where(getattr(Payment, name) == args[name])
    return stmt


def get_payment(payment_id: int, *, lock: bool = False) -> Payment:
    stmt = select(Payment).where(Payment.id == payment_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    payment = db.session.scalar(stmt)
    if payment is None:
        raise NotFound(f"Payment {payment_id} does not exist")
    return payment


# --- paying ---


def _order(order_id: int) -> dict:
    """The order as orders shows it to the caller (their token is forwarded)."""
    orders = service("orders")
    response = orders.get(f"/orders/{order_id}")
    if response.status_code == 404:
        raise Unprocessable({"order_id": [f"Order {order_id} does not exist."]})
    if response.status_code != 200:
        log.warning("orders answered %s for order %s", response.status_code, order_id)
        raise Unavailable("The orders service could not show the order")
    return orders.read(
        response,
        lambda body: {
            "status": str(body["status"]),
            "total": event_amount(body["total"]),
            "client_id": body.get("client_id"),
            "updated_at": event_instant(body["updated_at"]),
        },
    )


def create_payment(data: dict, user_id: int, key: Key | NoKey = NO_KEY) -> Payment:
    if key.resource_id is not None:
        resumed = db.session.get(Payment, key.resource_id)
        if resumed is not None:
            db.session.commit()
            if not resumed.order_checked:
                # Its request died before reading the order again: the provider never heard of
                # it, and the order may have changed meanwhile, unseen by its events.
                _ensure_still_payable(resumed.id, resumed.order_id, resumed.amount)
            elif resumed.provider_ref is None and not _key_kept(resumed):
                # Answered as it stands, never asked again (the provider forgot its key), and
                # flagged only if still unsettled; its key left bound: a retry once a webhook
                # settled it hears how it ended.
                return _unasked(resumed.id)
            return _ask_provider(resumed.id, key)
    if data["method"] == "card" and not data.get("payment_method"):
        raise Unprocessable({"payment_method": ["A card payment needs a payment method id."]})
    order = _order(data["order_id"])
    if order["status"] != "pending":
        raise Conflict(
            f"Order {data['order_id']} is {order['status']}: only a pending order can be paid"
        )
    if order["total"] <= 0:
        raise Conflict(f"Order {data['order_id']} has nothing to pay")
    payment = Payment(
        order_id=data["order_id"],
        method=data["method"],
        status="processing",
        amount=order["total"],
        client_id=order["client_id"] if isinstance(order["client_id"], int) else None,
        payment_method=data.get("payment_method") if data["method"] == "card" else None,
        created_by=user_id,
        order_updated_at=order["updated_at"],
    )
    db.session.add(payment)
    try:
        db.session.flush()
    except IntegrityError as exc:
        if violated(exc) != OPEN_PAYMENT_INDEX:
            # Not a second open payment: the kit's handler answers it (and logs it).
            raise
        db.session.rollback()
        raise Conflict(f"Order {data['order_id']} already has an open payment") from exc
    if _expiry_on_its_way(data["order_id"]):
        db.session.rollback()
        raise Conflict(f"Order {data['order_id']}'s PIX expired: the order is being cancelled")
    key.bind(payment.id)
    db.session.commit()
    failpoint("payments.row_committed")
    _ensure_still_payable(payment.id, data["order_id"], order["total"])
    return _ask_provider(payment.id, key)


def _expiry_on_its_way(order_id: int) -> bool:
    """A PIX of the order expired and its `payment.expired` is still in the outbox (orders, once
    it hears it, cancels the order; the first read of the order says so after that): the order
    is about to be cancelled, and a payment made now would be charged,
    then refunded. Asked after the new row's insert, which waited for the expiry's transaction
    if it held the open-payment index: what that transaction emitted is seen."""
    event, delivery = outbox.Event, outbox.Delivery
    return (
        db.session.scalar(
            select(delivery.id)
            .join(event, event.id == delivery.event_id)
            .where(
                delivery.delivered_at.is_(None),
                event.type == "payment.expired",
                event.payload["data"]["order_id"].as_integer() == order_id,
            )
            .limit(1)
        )
        is not None
    )


def _ensure_still_payable(payment_id: int, order_id: int, amount: Decimal) -> None:
    """The order read again once the payment's row is committed. An order cancelled, paid or
    edited between the first read and that commit sent its event while there was no row to let
    go of; from the commit on, its event finds the row (`_let_go`). So a change is caught either
    here or there. Before the provider hears of it, the row goes, whatever stops the check; once
    the check passed, it is recorded (`order_checked`) before the provider is asked, so a row
    without it is one the provider never heard of."""
    try:
        again = _order(order_id)
    except Exception:
        _forget(payment_id)
        raise
    if again["status"] != "pending" or again["total"] != amount:
        _forget(payment_id)
        raise Conflict(
            f"Order {order_id} changed while it was being paid (it is {again['status']}, "
            f"{again['total']}): pay it again"
        )
    checked = get_payment(payment_id, lock=True)
    checked.order_checked = True
    checked.order_updated_at = again["updated_at"]
    db.session.commit()
    failpoint("payments.order_checked")


def _ask_provider(payment_id: int, key: Key | NoKey) -> Payment:
    """Steps 3 and 4: no transaction stays open while the provider is asked."""
    payment = get_payment(payment_id)
    db.session.commit()
    if payment.provider_ref is None:
        try:
            intent = _first_intent(payment)
        except provider.Declined as declined:
            intent = declined.intent or {}
            return _settle_refusal(payment_id, intent, declined.reason, declined.code, key)
        except provider.Refused as refused:
            if refused.nothing_made:
                _forget(payment_id)
            else:
                _settle_refusal(
                    payment_id, refused.intent or {}, refused.message, refused.code, NO_KEY
                )
            if refused.param == "payment_method":
                # Never the provider's words here: they quote what was sent, whatever it was.
                errors = {"payment_method": ["The payment provider does not know this method."]}
            else:
                errors = {"_body": [refused.message]}
            raise Unprocessable(
                errors, detail="The payment provider refused the payment"
            ) from refused
        failpoint("payments.provider_answered")
        payment = get_payment(payment_id, lock=True)
        apply_intent(payment, intent)
    else:
        payment = get_payment(payment_id, lock=True)
    db.session.flush()
    key.answer(payment)
    db.session.commit()
    return payment


def _first_intent(payment: Payment) -> dict:
    """The PaymentIntent of a payment the provider has not answered yet, asked with its key, in
    one of two forms; the provider executes only the first form it heard under a key. While the
    order takes the payment, confirmed (charged). Once its order let go of it (`let_go`),
    unconfirmed, so it is never charged for the first time after that: a provider that never
    heard of it makes it so (nothing charged; `apply_intent` cancels it), one that executed the
    confirmed form (the request that died, or one on its way when the order let go) refuses the
    other (`idempotency_error`). Asked then in the form it executed, it replays that answer,
    executing nothing again (a charge is then refunded); so a confirmed ask that comes after an
    unconfirmed one is answered that one."""
    confirm = payment.let_go is None
    try:
        return provider.create_intent(payment, confirm=confirm)
    except provider.Refused as refused:
        if refused.kind != "idempotency_error":
            raise
    return provider.create_intent(payment, confirm=not confirm)


def _key_kept(payment: Payment) -> bool:
    """Whether the provider still keeps the key of the payment's first ask. No column records
    when that ask was sent: it follows the row's commit (`created_at`), within its request or a
    retry of it, so the row is at least as old as the ask, and a payment is never asked once its
    key may be forgotten (at worst it is flagged a little early)."""
    return payment.created_at >= utcnow() - ASK_KEPT


def _unasked(payment_id: int) -> Payment:
    """A payment the provider never answered, first asked longer ago than it keeps keys: asked
    again, a key it forgot would make a second PaymentIntent, charging the payer again
    (confirmed) or leaving the first charge never refunded (unconfirmed, the payment
    `canceled`). So it is not asked: it is flagged for an admin to look at the provider, and
    stays `processing`, holding its order (it may have been paid); reconciliation passes it by,
    and a webhook naming it (`metadata[payment_id]`) still settles it. One already settled is
    just answered."""
    payment = get_payment(payment_id, lock=True)
    # One reconciliation failed meanwhile (a refusal that made no PaymentIntent) was answered.
    unanswered = payment.status in UNSETTLED and payment.provider_ref is None
    # Flagged once: an admin who marked it reviewed (`mark_reviewed`) has looked at the provider,
    # and nothing here has changed since, so it is not put back in their queue.
    if unanswered and not payment.needs_review and payment.reviewed_at is None:
        log.error("payment %s: unanswered longer than the provider keeps keys", payment.id)
        _flag(
            payment,
            reasons.UNANSWERED,
            sent_at=payment.created_at.isoformat(),
            payment_id=payment.id,
        )
    db.session.commit()
    return payment


def _forget(payment_id: int) -> None:
    """A payment with no PaymentIntent, nothing charged: the provider refused the request itself
    (an unknown payment method), or it was never asked (the order changed meanwhile). The row
    goes, so nothing is announced (the client is not told of a payment that never was, and the
    order's one `payment_failed` message is kept); an Idempotency-Key bound to it goes with it
    (the caller's error may be a 503, after which the kit keeps a bound key to resume)."""
    payment = get_payment(payment_id, lock=True)
    if payment.status == "processing" and payment.provider_ref is None:
        db.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.resource_id == payment.id, IdempotencyKey.status_code.is_(None)
            )
        )
        db.session.delete(payment)
    db.session.commit()


def _settle_refusal(
    payment_id: int, intent: dict, reason: str, code: str | None, key: Key | NoKey
) -> Payment:
    payment = get_payment(payment_id, lock=True)
    _apply_refusal(payment, intent, reason, code)
    db.session.flush()
    key.answer(payment)
    db.session.commit()
    return payment


def _apply_refusal(payment: Payment, intent: dict, reason: str, code: str | None) -> None:
    """The provider refused or declined the locked payment's first ask (on its request, or at
    reconciliation): the PaymentIntent it reports applied, if it made one; a payment still
    waiting then fails."""
    if intent.get("id"):
        apply_intent(payment, intent)
    if payment.status == "processing":
        # Its order let go of it meanwhile (paid by hand, say): the client is not told "not
        # approved" after "paid".
        _move(payment, "failed", reason=reason, code=code, announce=payment.let_go is None)


# --- the provider's word ---


def _move(
    payment: Payment,
    target: str,
    *,
    reason: str | None = None,
    code: str | None = None,
    announce: bool = True,
) -> None:
    """`reason` and `code` only for `failed`: the provider's words and its code
    (`provider.failure_code`), none when it gave none. A failure is announced unless its order
    let go of the payment (not `announce`)."""
    payment.status = target
    payment.updated_at = utcnow()
    if target == "failed":
        payment.failure_reason = (reason or "The payment failed")[:500]
        payment.failure_code = code[:60] if code else None
        if announce:
            outbox.emit(
                "payment.failed",
                {
                    "payment_id": payment.id,
                    "order_id": payment.order_id,
                    "client_id": payment.client_id,
                    "total": str(payment.amount),
                    "reason": payment.failure_reason,
                    # notifications tells the client why from this, in Portuguese, and what to do
                    # from the method.
                    "code": payment.failure_code,
                    "method": payment.method,
                },
            )


def _timestamp(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def apply_intent(payment: Payment, intent: dict) -> None:
    """A PaymentIntent as the provider reports it (its answer, a webhook, a retrieve), applied to
    the locked payment, forward only; the caller commits. A payment its order let go of before
    this answer (`let_go`: before the provider's first, or while it would not cancel it) is then
    let go of: canceled at the provider, or refunded, its success never announced (orders would
    mark the order paid with money that goes back). A card intent waiting for an
    authentication (`_AUTHENTICATION`) is failed and canceled there."""
    letting_go = payment.let_go is not None and (
        payment.provider_ref is not None or isinstance(intent.get("id"), str)
    )
    _apply(payment, intent, announce=not letting_go)
    if letting_go:
        why, payment.let_go = payment.let_go, None
        _release(payment, why)
    elif _waits_for_authentication(payment, intent) and payment.status == "failed":
        _cancel_at_provider(payment)


# Cards are confirmed with `error_on_requires_action`, so the provider declines one whose bank
# asks for 3-D Secure; an intent made before that (or by another hand) waits for a step Feira
# never offers, and would hold its order open for ever: it counts as that decline.
_AUTHENTICATION = {
    "code": "authentication_required",
    "message": "The card's bank asks for an authentication Feira does not offer",
}


def _waits_for_authentication(payment: Payment, intent: dict) -> bool:
    return payment.method == "card" and intent.get("status") == "requires_action"


def _apply(payment: Payment, intent: dict, *, announce: bool) -> None:
    first_word = payment.provider_ref is None
    if first_word and isinstance(intent.get("id"), str):
        payment.provider_ref = intent["id"]
    status = intent.get("status")
    if _waits_for_authentication(payment, intent):
        status, intent = (
            "requires_payment_method",
            {**intent, "last_payment_error": _AUTHENTICATION},
        )
    action = intent.get("next_action") or {}
    qr = action.get("pix_display_qr_code") if isinstance(action, dict) else None
    if isinstance(qr, dict) and payment.method == "pix" and payment.pix_qr_code is None:
        payment.pix_qr_code = str(qr.get("data") or "") or None
        # Ours is PIX_EXPIRES_S from when the payer is shown the code (a payment the provider
        # first heard of late, after an outage, still gives the whole time); the provider may
        # hold it a little longer (Stripe's shortest is 10 s), and reconciliation cancels it
        # there once ours has passed.
        ours = utcnow() + timedelta(seconds=current_app.config["PIX_EXPIRES_S"])
        theirs = _timestamp(qr.get("expires_at"))
        payment.pix_expires_at = min(ours, theirs) if theirs else ours
    target = {
        "succeeded": "succeeded",
        "requires_action": "requires_action",
        "processing": "processing",
        "canceled": "canceled",
        "requires_payment_method": "failed",
    }.get(status)
    if target is None or target == payment.status:
        return
    if not first_word and RANK[target] <= RANK[payment.status]:
        log.info("payment %s: %s after %s ignored", payment.id, target, payment.status)
        return
    settled = ("canceled", "refunded", "partially_refunded")
    if payment.status in settled or (payment.status == "failed" and target != "succeeded"):
        log.info("payment %s is %s: %s ignored", payment.id, payment.status, target)
        return
    if target == "succeeded":
        _succeed(payment, intent, announce=announce)
    elif target == "failed" and not _pix_expired(payment):
        error = intent.get("last_payment_error") or {}
        _move(
            payment,
            "failed",
            reason=error.get("message") or "The payment failed",
            code=provider.failure_code(error),
            announce=announce,
        )
    elif target in ("canceled", "failed"):
        # A PIX nobody paid in time: Stripe's own expiry fails it, our reconciliation cancels it.
        _move(payment, "canceled")
        # Not when its order let go of it first: an edited order would be cancelled "expired".
        if announce and _pix_expired(payment):
            outbox.emit("payment.expired", {"payment_id": payment.id, "order_id": payment.order_id})
    else:
        _move(payment, target)


def _pix_expired(payment: Payment) -> bool:
    return (
        payment.method == "pix"
        and payment.pix_expires_at is not None
        and payment.pix_expires_at <= utcnow()
    )


def _succeed(payment: Payment, intent: dict, *, announce: bool) -> None:
    # Paid after a failed attempt: why that attempt failed no longer describes the payment (Stripe
    # clears `last_payment_error` the same way), and the console would show it beside "Pago".
    payment.failure_reason = payment.failure_code = None
    received = intent.get("amount_received", intent.get("amount"))
    payment.received_amount = _received(received)
    if payment.status == "failed" and not _holds_its_order(payment):
        _give_back(payment)
        return
    _move(payment, "succeeded")
    if payment.received_amount != payment.amount:
        _flag(
            payment,
            reasons.OTHER_AMOUNT,
            received=received,
            cents=provider.cents(payment.amount),
        )
        log.warning("payment %s: the provider reports another amount; flagged", payment.id)
        return
    if not announce:
        # Its order let go of it: refunded next (`apply_intent`), it pays nothing.
        return
    outbox.emit(
        "payment.succeeded",
        {
            "payment_id": payment.id,
            "order_id": payment.order_id,
            "amount": str(payment.amount),
            "method": payment.method,
        },
    )


def _received(received) -> Decimal | None:
    """What the provider reports received (integer centavos), in reais; None when it is not an
    amount (then the payment's own counts as refundable, and it is flagged)."""
    try:
        amount = provider.reais(received)
    except (TypeError, ValueError):
        return None
    return amount if amount >= 0 else None


def _holds_its_order(payment: Payment) -> bool:
    """Whether a failed payment may now hold its order: it becomes `succeeded` in a savepoint,
    and the partial unique index on the open statuses refuses it if another payment of the order
    is open (however many try at once)."""
    try:
        with db.session.begin_nested():
            payment.status = "succeeded"
    except IntegrityError as exc:
        if violated(exc) != OPEN_PAYMENT_INDEX:
            raise
        return False
    return True


def _give_back(payment: Payment) -> None:
    """A success after the payment had failed, while another payment of its order is open: the
    order is being paid that way, so this money goes back in full at once (the customer is not
    left charged twice until someone looks) and the payment ends `refunded` without ever
    holding the order; no `payment.succeeded` leaves. A refund the provider refuses is flagged."""
    log.warning("payment %s succeeded after failing; its order has another: refunded", payment.id)
    _refund_all(payment, reasons.SUCCEEDED_AFTER_FAILING)


def apply_refunded(payment: Payment, refunded: Decimal) -> None:
    """The provider says `refunded` (in all) went back for the locked payment; the caller
    commits. The recorded refunds and the provider's total agree on the larger."""
    if payment.status not in ("succeeded", "partially_refunded", "refunded"):
        log.warning("payment %s is %s: a refund report ignored", payment.id, payment.status)
        return
    recorded, not_returned = db.session.execute(
        select(
            func.coalesce(
                func.sum(Refund.amount).filter(Refund.status.not_in(REFUND_NOT_RETURNED)), 0
            ),
            func.count().filter(Refund.status.in_(REFUND_NOT_RETURNED)),
        ).where(Refund.payment_id == payment.id)
    ).one()
    if not_returned:
        # A provider's total sent before one of its refunds failed (delivered late) still
        # counts that one: from then on, only the refunds recorded count.
        refunded = Decimal(0)
    total = min(payment.refundable, max(payment.refunded_amount, refunded, Decimal(recorded)))
    if total <= payment.refunded_amount:
        return
    delta = total - payment.refunded_amount
    payment.refunded_amount = total
    # A `refunded` payment another one took the order from stays `refunded` (a failed refund
    # left it so, and one made from the provider's dashboard is counted here).
    _status_after_refunds(payment)
    payment.updated_at = utcnow()
    _announce_refunds(payment, delta)


def _announce_refunds(payment: Payment, delta: Decimal) -> None:
    """`payment.refunded`: the locked payment's refunded amount changed by `delta` (below 0: a
    refund failed). Its `version` is the payment's `updated_at`, which the caller set under the
    lock, so orders keeps the newest of the payment's events whatever order they arrive in."""
    outbox.emit(
        "payment.refunded",
        {
            "payment_id": payment.id,
            "order_id": payment.order_id,
            "amount": str(delta),
            "refunded_amount": str(payment.refunded_amount),
            "full": payment.refunded_amount >= payment.refundable,
            "version": payment.updated_at.isoformat(),
        },
    )


# --- webhooks ---


def _payment_for(intent_id, metadata) -> Payment | None:
    stmt = select(Payment).with_for_update().execution_options(populate_existing=True)
    if isinstance(intent_id, str):
        found = db.session.scalar(stmt.where(Payment.provider_ref == intent_id))
        if found is not None:
            return found
    # Written before the provider answered (a crash on the way): the id we sent it.
    payment_id = (metadata or {}).get("payment_id") if isinstance(metadata, dict) else None
    if payment_id is not None and str(payment_id).isdigit() and int(payment_id) < 2**31:
        found = db.session.scalar(stmt.where(Payment.id == int(payment_id)))
        if found is not None and found.provider_ref in (None, intent_id):
            return found
    return None


def handle_event(event: dict) -> str:
    """A verified provider event, once per event id: what it says applied to its payment, under
    the payment's lock, with the id recorded in the same transaction."""
    first = db.session.execute(
        insert(WebhookEvent)
        .values(id=event["id"][:255], type=event["type"][:80])
        .on_conflict_do_nothing()
        .returning(WebhookEvent.id)
    ).first()
    if first is None:
        db.session.rollback()
        return "duplicate"
    data = event.get("data")
    obj = (data.get("object") if isinstance(data, dict) else None) or {}
    kind = event["type"]
    outcome = "ignored"
    if kind.startswith("payment_intent.") and isinstance(obj, dict):
        payment = _payment_for(obj.get("id"), obj.get("metadata"))
        if payment is not None:
            apply_intent(payment, obj)
            outcome = "processed"
    elif kind in REFUND_EVENTS and isinstance(obj, dict):
        payment = _payment_for(obj.get("payment_intent"), None)
        if payment is not None:
            apply_refund_updated(payment, obj)
            outcome = "processed"
    elif kind == "charge.refunded" and isinstance(obj, dict):
        payment = _payment_for(obj.get("payment_intent"), obj.get("metadata"))
        if payment is not None:
            try:
                refunded = provider.reais(obj.get("amount_refunded"))
            except (TypeError, ValueError):
                refunded = Decimal(0)
            apply_refunded(payment, refunded)
            outcome = "processed"
    db.session.commit()
    return outcome


# --- refunds ---


def refund(payment_id: int, amount: Decimal | None, key: Key | NoKey = NO_KEY) -> Payment:
    """Give back `amount` (when None, all that is left of what the provider received) of a
    succeeded payment, once. The row is locked from counting its refunds until this one is
    recorded, so two refunds at once are two refunds (the second counts the first, and finds what
    is left). Each refund is the payment's n-th ask (its key's n), committed before the provider
    hears of it, bound to the request's Idempotency-Key in that same transaction; the provider's
    webhook for it waits for the lock, and the recorded refunds, unique by the provider's id, say
    what went back. The key is answered in the transaction that records the refund.

    A retry with the key of a request that made an ask resumes that ask (`_resume_refund`),
    whoever finished it meanwhile. Otherwise, an ask whose answer was lost (a 503, a crash) is
    asked again first, with its key and amount: a request for that amount is answered by it;
    one for all that is left asks for the rest after it (none is left when it was all: it is
    the answer); one for another amount is a 409 (the earlier refund was made, nothing more)."""
    payment = get_payment(payment_id, lock=True)
    if key.resource_id is not None:
        resumed = _resume_refund(payment, key)
        if resumed is not None:
            return resumed
    finished = _finish_open_asks(payment)
    if finished:
        earlier, refusal = finished[-1]
        if amount is not None and earlier.state == "made" and amount == earlier.amount:
            return _refund_answered(payment, key)
        db.session.commit()
        if amount is not None and earlier.state == "made":
            raise Conflict(
                f"An earlier refund of {earlier.amount}, which the provider had not answered, "
                "was made first; nothing more was refunded: ask again for more"
            )
        if refusal is not None and amount == earlier.amount:
            raise _refund_refused(refusal)
        payment = get_payment(payment_id, lock=True)
        if (
            amount is None
            and earlier.state == "made"
            and payment.refunded_amount >= payment.refundable
        ):
            # All that is left was that refund: it is the answer.
            return _refund_answered(payment, key)
    left = payment.refundable - payment.refunded_amount
    # A `refunded` one with some left: a refund of it failed while another payment held its
    # order (`_not_returned`), and the money is still the merchant's to give back.
    if payment.status not in ("succeeded", "partially_refunded") and not (
        payment.status == "refunded" and left > 0
    ):
        raise Conflict(f"Payment {payment_id} is {payment.status}: only a succeeded one refunds")
    wanted = left if amount is None else amount
    # Nothing left (the provider reported nothing received) asks for no refund.
    if wanted > left or wanted <= 0:
        raise Unprocessable({"amount": [f"At most {left} is left to refund."]})
    try:
        _ask_refund(payment, wanted, key)
    except (provider.Refused, provider.Declined) as refused:
        db.session.commit()
        raise _refund_refused(refused) from refused
    return _refund_answered(payment, key)


def _refund_answered(payment: Payment, key: Key | NoKey) -> Payment:
    """The locked payment is the request's answer: its key answered in the transaction that
    commits what the request did."""
    db.session.flush()
    key.answer(payment)
    db.session.commit()
    return payment


def _resume_refund(payment: Payment, key: Key) -> Payment | None:
    """A retry of a request whose answer was lost (a 503, a crash): its key names the ask it
    made. One still open is asked again (same provider key and amount: made once); one made,
    by this retry or meanwhile by reconciliation or a cancellation, is the answer, the payment
    as it now stands, and nothing more is refunded; so is one `unknown` (flagged: never asked
    again). None for one `refused` (nothing went back under it): the request is done anew, as a
    refused request's key is let go."""
    ask = db.session.scalar(
        select(RefundAsk)
        .where(RefundAsk.payment_id == payment.id, RefundAsk.n == key.resource_id)
        .execution_options(populate_existing=True)
    )
    if ask is None or ask.state == "refused":
        return None
    if ask.state == "open":
        refusals = {earlier.n: refusal for earlier, refusal in _finish_open_asks(payment)}
        if refusals.get(ask.n) is not None:
            db.session.commit()
            raise _refund_refused(refusals[ask.n])
    return _refund_answered(payment, key)


def _refund_refused(refused: provider.Refused | provider.Declined) -> Exception:
    """What the caller is told of a refund the provider refused."""
    if isinstance(refused, provider.Declined):
        return Conflict(f"The payment provider refused the refund: {refused.reason}")
    if refused.param == "amount":
        return Unprocessable({"amount": [refused.message]})
    return Conflict(f"The payment provider refused the refund: {refused.message}")


def _ask_refund(payment: Payment, amount: Decimal, key: Key | NoKey = NO_KEY) -> None:
    """Ask the provider for the locked payment's next refund and record what it made; the
    caller commits. The ask is committed first, in a transaction of its own (the payment's
    stays open, its lock held), with the request's Idempotency-Key bound to it: should the
    answer be lost, a retry with that key, the next refund, a cancellation or reconciliation
    asks it again rather than anew. Refused or Declined when the provider refuses (the ask is
    then `refused`); Unavailable leaves it open."""
    n = 1 + db.session.scalar(
        select(func.coalesce(func.max(RefundAsk.n), 0)).where(RefundAsk.payment_id == payment.id)
    )
    with db.engine.begin() as own:
        own.execute(insert(RefundAsk).values(payment_id=payment.id, n=n, amount=amount))
        # On this transaction's connection: the session's holds the payment's lock, and a 503
        # rolls it back.
        key.bind(n, own)
    ask = db.session.get(RefundAsk, (payment.id, n))
    _answer_ask(payment, ask)


def _answer_ask(payment: Payment, ask: RefundAsk) -> None:
    """Ask the provider for `ask` (again, with its key: the same refund, made once) and record
    its answer in the caller's transaction."""
    try:
        made = provider.refund(payment, ask.n, ask.amount)
    except (provider.Refused, provider.Declined):
        ask.state = "refused"
        raise
    failpoint("payments.refund_answered")
    recorded = _record_refund(payment, made, ask.amount)
    if recorded.status in REFUND_NOT_RETURNED:
        # Made, and failed at once (or before this answer was heard): nothing went back.
        ask.state = "refused"
        raise provider.Refused(
            reasons.REFUND_FAILED_AT_ONCE.format(refund_status=recorded.status),
            status=None,
            code=_refund_failure(made),
            param=None,
        )
    ask.state = "made"
    if payment.status == "failed":
        # A late success given back (`_give_back`): it never held its order.
        payment.status = "refunded"
    apply_refunded(payment, payment.refunded_amount)


def _finish_open_asks(payment: Payment) -> list[tuple[RefundAsk, Exception | None]]:
    """The locked payment's asks whose answer was lost, asked again in order (the caller
    commits): each with the provider's refusal, if it refused. One asked longer ago than the
    provider keeps keys is `unknown`, and the payment flagged for review. Unavailable if the
    provider still cannot answer."""
    finished = []
    asks = db.session.scalars(
        select(RefundAsk)
        .where(RefundAsk.payment_id == payment.id, RefundAsk.state == "open")
        .order_by(RefundAsk.n)
        .with_for_update()
    ).all()
    for ask in asks:
        if ask.asked_at < utcnow() - ASK_KEPT:
            log.error("payment %s: refund %s was never answered", payment.id, ask.n)
            ask.state = "unknown"
            _flag(
                payment,
                reasons.ASK_UNANSWERED,
                amount=ask.amount,
                asked_at=ask.asked_at.isoformat(),
            )
            finished.append((ask, None))
            continue
        try:
            _answer_ask(payment, ask)
        except (provider.Refused, provider.Declined) as refused:
            log.warning("payment %s: refund %s, asked again, was refused", payment.id, ask.n)
            finished.append((ask, refused))
            continue
        finished.append((ask, None))
    return finished


def _record_refund(payment: Payment, made: dict, wanted: Decimal) -> Refund:
    """The refund the provider made, once by its id, with its status; the row as recorded (its
    webhook may have recorded it first, and heard since that it failed: an answer replayed for
    its idempotency key still says what it said first)."""
    try:
        refunded = provider.reais(made.get("amount"))
    except (TypeError, ValueError):
        refunded = wanted
    status = made.get("status")
    ref = str(made["id"])[:255]
    db.session.execute(
        insert(Refund)
        .values(
            payment_id=payment.id,
            provider_ref=ref,
            amount=refunded,
            status=status if status in REFUND_RANK else "pending",
        )
        .on_conflict_do_nothing()
    )
    return db.session.scalar(
        select(Refund).where(Refund.provider_ref == ref).execution_options(populate_existing=True)
    )


def apply_refund_updated(payment: Payment, made: dict) -> None:
    """One of REFUND_EVENTS: the locked payment's refund `made` (Stripe's Refund) has a new
    status, applied forward only; the caller commits. One Feira counted that then failed (or was
    canceled) gave nothing back: it is no longer counted (`payment.refunded` tells the lower
    total), the payment's status is what the other refunds make it, and the payment is flagged
    for review (an admin settles it with the customer). A refund Feira did not ask for (the
    provider's dashboard) is recorded; if it failed, it is uncounted only when the provider's
    totals had counted it."""
    status, ref = made.get("status"), made.get("id")
    if status not in REFUND_RANK or not isinstance(ref, str):
        return
    refund = db.session.scalar(
        select(Refund).where(Refund.provider_ref == ref[:255]).with_for_update()
    )
    if refund is None:
        try:
            amount = provider.reais(made.get("amount"))
        except (TypeError, ValueError):
            return
        # What was counted from the provider's totals beyond the refunds recorded.
        beyond = payment.refunded_amount - _returned(payment)
        refund = _record_refund(payment, made, amount)
        if status in REFUND_NOT_RETURNED:
            _not_returned(payment, refund, made, counted=beyond >= refund.amount)
        else:
            apply_refunded(payment, Decimal(0))
        return
    if REFUND_RANK[status] <= REFUND_RANK.get(refund.status, 0):
        return
    refund.status = status
    if status in REFUND_NOT_RETURNED:
        _not_returned(payment, refund, made, counted=True)


def _returned(payment: Payment) -> Decimal:
    """The sum of the payment's recorded refunds that gave money back (or are on their way)."""
    return Decimal(
        db.session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment.id, Refund.status.not_in(REFUND_NOT_RETURNED)
            )
        )
    )


def _refund_failure(made: dict) -> str | None:
    """Stripe's `failure_reason` (expired_or_canceled_card, lost_or_stolen_card, ...), when it
    reads as one."""
    reason = made.get("failure_reason")
    if isinstance(reason, str) and reason.replace("_", "").isalnum():
        return reason[:60]
    return None


def _not_returned(payment: Payment, refund: Refund, made: dict, *, counted: bool) -> None:
    """The locked payment's `refund` failed at the provider: if it was `counted`, its amount is
    no longer (orders is told the lower total), and the payment's status follows; flagged for
    review either way."""
    reason = _refund_failure(made) or reasons.NO_CODE
    before = payment.refunded_amount
    if counted and payment.status in ("succeeded", "partially_refunded", "refunded"):
        payment.refunded_amount = max(Decimal("0.00"), before - refund.amount)
        _status_after_refunds(payment)
    _flag(
        payment,
        reasons.NOT_RETURNED,
        refund_ref=refund.provider_ref,
        amount=refund.amount,
        refund_status=refund.status,
        code=reason,
    )
    payment.updated_at = utcnow()
    if payment.refunded_amount != before:
        _announce_refunds(payment, payment.refunded_amount - before)
    log.error(
        "payment %s: refund %s %s at the provider (%s): the money was not returned",
        payment.id,
        refund.provider_ref,
        refund.status,
        reason,
    )


def _status_after_refunds(payment: Payment) -> None:
    """succeeded, partially_refunded or refunded, as the locked payment's refunded amount now
    makes it. Back to an open status only while no other payment holds its order (the partial
    unique index refuses it in a savepoint): else it stays `refunded`, flagged by the caller."""
    if payment.refunded_amount <= 0:
        target = "succeeded"
    elif payment.refunded_amount < payment.refundable:
        target = "partially_refunded"
    else:
        target = "refunded"
    if target == payment.status:
        return
    try:
        with db.session.begin_nested():
            payment.status = target
    except IntegrityError as exc:
        if violated(exc) != OPEN_PAYMENT_INDEX:
            raise
        log.warning("payment %s: another payment holds its order; it stays refunded", payment.id)


@reaches_outside
def on_order_cancelled(data: dict) -> None:
    """`order.cancelled` {order_id, previous_status}: a succeeded payment of it is refunded in
    full, an unsettled one is canceled at the provider (a PIX can no longer be paid). Inside
    the inbox's transaction: the provider down raises, and the event comes again."""
    _let_go(int(data["order_id"]), lambda payment: True, reasons.ORDER_CANCELLED)


@reaches_outside
def on_order_updated(data: dict) -> None:
    """`order.updated` {order_id, total}: a pending order was edited. An open payment for
    another amount than its new total can no longer pay it (the amount is always the order's
    total): it is canceled at the provider, or refunded if it went through meanwhile (orders
    leaves the order pending on a success for another amount), and the order can be paid
    anew."""
    total = event_amount(data["total"])
    # Sent since `updated_at` was added: an edit made before a payment's last read of the order
    # is not news to it (delivered late, after newer ones, the relay having retried it).
    edited_at = event_instant(data["updated_at"]) if "updated_at" in data else None

    def outdated(payment: Payment) -> bool:
        read_after = (
            edited_at is not None
            and payment.order_updated_at is not None
            and payment.order_updated_at >= edited_at
        )
        return payment.amount != total and not read_after

    _let_go(int(data["order_id"]), outdated, reasons.ORDER_TOTAL_CHANGED)


@reaches_outside
def on_order_paid(data: dict) -> None:
    """`order.paid` {order_id, payment_id}: the order is paid, by `payment_id` or (null) by an
    admin's hand. Any other open payment of it would pay it twice: it is canceled at the
    provider (a PIX can no longer be paid), or refunded in full if the payer paid meanwhile."""
    paid_by = data.get("payment_id")
    paid_by = None if paid_by is None else int(paid_by)
    _let_go(
        int(data["order_id"]),
        lambda payment: payment.id != paid_by,
        reasons.ORDER_PAID_OTHERWISE,
    )


def _let_go(order_id: int, which, why: str) -> None:
    """The order's open payments that `which` names: unsettled ones canceled at the provider,
    succeeded ones refunded in full (`why`, should the provider refuse: the payment's review
    reason). A failed one is canceled there too: its PaymentIntent could still be paid, and that
    success would then be money for an order that no longer takes it."""
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status.in_((*OPEN, "failed")))
        .order_by(Payment.id)
        .with_for_update()
    ).all()
    for payment in filter(which, payments):
        if payment.provider_ref is None:
            # The provider has not answered yet (the request is on its way, or reconciliation
            # will ask, unconfirmed from now on: `_first_intent`): whoever applies its answer
            # lets go of it (`apply_intent`). Locked above, so that answer is applied after this
            # mark, or was before this read.
            payment.let_go = why
            continue
        _release(payment, why)


def _release(payment: Payment, why: str) -> None:
    """One payment its order does not take: canceled at the provider while unsettled or failed
    (paid meanwhile: the cancel is refused and the success applied, never announced: orders
    would mark the order paid with money that goes back), refunded once succeeded. One still
    unsettled there (Stripe refuses to cancel most PaymentIntents while `processing`) is marked
    `let_go`: whoever applies its next word lets go of it then (`apply_intent`)."""
    if payment.status in (*UNSETTLED, "failed"):
        _cancel_at_provider(payment, announce=False)
    if payment.status in UNSETTLED:
        payment.let_go = why
    elif payment.status in ("succeeded", "partially_refunded"):
        _refund_all(payment, why)


def _refund_all(payment: Payment, why: str) -> None:
    """All that is left of a payment its order does not take, inside the event's (or the
    webhook's) transaction, its row locked while its refunds are counted (asks whose answer was
    lost asked again first); a refund the provider refuses flags it for review, `why` its
    reason."""
    payment = get_payment(payment.id, lock=True)
    _finish_open_asks(payment)
    left = payment.refundable - payment.refunded_amount
    if left <= 0:
        return
    try:
        _ask_refund(payment, left)
    except (provider.Refused, provider.Declined) as refused:
        log.error("payment %s of order %s: refund refused", payment.id, payment.order_id)
        _flag(payment, reasons.REFUND_REFUSED, why=why, refused=refused)


def _cancel_at_provider(payment: Payment, *, announce: bool = True) -> None:
    """Cancel an unsettled payment's PaymentIntent and apply what the provider then says (it may
    have succeeded meanwhile: that is applied instead). One the provider no longer knows is
    canceled here, flagged (`_lost`). Without `announce` (its order let go of it: `_release`),
    what the provider says is only recorded: a success is not announced, the caller refunds it."""
    try:
        intent = provider.cancel_intent(payment)
    except provider.Missing:
        intent = None
    except provider.Refused:
        intent = _retrieve(payment)
    locked = get_payment(payment.id, lock=True)
    if intent is None:
        intent = _lost(locked, "canceled")
    if announce:
        apply_intent(locked, intent)
    else:
        _apply(locked, intent, announce=False)


def _retrieve(payment: Payment) -> dict | None:
    """The payment's PaymentIntent as the provider reports it; None when it no longer knows it."""
    try:
        return provider.retrieve_intent(payment.provider_ref)
    except provider.Missing:
        return None


def _lost(payment: Payment, status: str) -> dict:
    """What stands for a PaymentIntent the provider no longer knows (its state lost, or the key
    now another mode's or account's): `status`, the end Feira wanted (`canceled`) or else a
    failure, so the locked payment no longer holds its order (a PIX past its expiry still
    cancels it). Whether money moved there can no longer be asked: an admin looks."""
    log.error("payment %s: the provider no longer knows its PaymentIntent", payment.id)
    _flag(payment, reasons.INTENT_LOST, intent_ref=payment.provider_ref)
    error = {"message": "The payment provider no longer knows this payment", "code": LOST_CODE}
    return {"status": status, "last_payment_error": error}


# --- review ---


def _flag(payment: Payment, template: str, **fields) -> None:
    """Flag the locked payment for an admin to look at, and why: one of `reasons`' templates,
    filled (a wording of its own would reach the console untranslated, so it is refused). One
    flagged already, not yet reviewed, keeps its causes, the new one after them (the admin
    clears only what they read, so none is hidden), unless it is there already. A cause is one
    line (the provider's words in it may have had line breaks) of at most REVIEW_CAUSE_MAX;
    when the column is full the held text is cut to make room, so a new cause always changes
    the reason and a review of the old text is refused. One not flagged (its reason reviewed)
    has only the new one."""
    if template not in reasons.TEMPLATES:
        raise ValueError(f"not a review reason of services.payments.reasons: {template!r}")
    cause = " ".join(template.format(**fields).splitlines())[:REVIEW_CAUSE_MAX]
    held = payment.review_reason if payment.needs_review else None
    payment.needs_review = True
    if not held:
        payment.review_reason = cause
        return
    apart = REVIEW_REASONS_APART
    if f"{apart}{cause}{apart}" in f"{apart}{held}{apart}":
        return
    # Cut just after a line break, the held text would end in an empty cause.
    held = held[: REVIEW_REASON_MAX - len(apart) - len(cause)].rstrip(apart)
    payment.review_reason = f"{held}{apart}{cause}"


def mark_reviewed(payment_id: int, review_reason: str, admin_id: int) -> Payment:
    """An admin looked at a flagged payment: the flag is cleared, who and when recorded, the
    reason kept. Only the reason they read: one flagged again meanwhile for another cause (added
    to its reason, `_flag`) stays flagged, so nobody clears what they did not see. The row is locked
    from the check to the commit, so a new cause recorded at once waits, and flags it again
    after."""
    payment = get_payment(payment_id, lock=True)
    if not payment.needs_review:
        raise Conflict(f"Payment {payment_id} is not flagged for review")
    if payment.review_reason != review_reason:
        raise Conflict(f"Payment {payment_id}'s review reason changed: read it again")
    payment.needs_review = False
    payment.reviewed_by = admin_id
    payment.reviewed_at = utcnow()
    db.session.commit()
    log.info("payment %s: marked reviewed by admin %s", payment.id, admin_id)
    return payment


# --- reconciliation ---


def reconcile() -> int:
    """Payments left unsettled longer than PAYMENTS_RECONCILE_AFTER_S (a lost webhook, a crash
    before the provider answered) and PIX past their expiry: the provider is asked and its truth
    applied, as a webhook would; a PIX still unpaid past its expiry is canceled there
    (`payment.expired`). Refunds asked that long ago whose answer was lost are asked again (same
    key and amount); refunds the provider made that are still unsettled that long (`pending`:
    their events may all have been lost) are asked about, the answer applied as their
    webhook would (`apply_refund_updated`). One the provider never answered, first asked
    longer ago than it keeps keys, is flagged instead (`_unasked`), and passed by from then on.
    Each payment in its own transaction, the least recently touched first; returns how many
    were asked.

    The pass runs in the relay's loop, which delivers none of payments' events meanwhile: no
    payment is started once `_reconcile_budget` has passed (a slow provider takes up to its
    timeout per call). Those left are the least recently touched at the next pass, and each one
    tried is touched, settled or not (`_put_back`), so every one gets its turn."""
    now = utcnow()
    after = timedelta(seconds=current_app.config["PAYMENTS_RECONCILE_AFTER_S"])
    unsettled = db.session.execute(
        select(Payment.updated_at, Payment.id)
        .where(
            Payment.status.in_(UNSETTLED),
            (Payment.updated_at < now - after) | (Payment.pix_expires_at < now),
            # Flagged by `_unasked` (the one flag of a payment the provider never answered):
            # waiting for an admin or a webhook, never asked again, reviewed or not.
            Payment.provider_ref.is_not(None)
            | (~Payment.needs_review & Payment.reviewed_at.is_(None)),
        )
        .order_by(Payment.updated_at)
        .limit(RECONCILE_BATCH)
    ).all()
    unanswered = db.session.execute(
        select(Payment.updated_at, Payment.id)
        .where(_open_ask(after=now - after))
        .order_by(Payment.updated_at)
        .limit(RECONCILE_BATCH)
    ).all()
    # Touched once asked (`_reconcile_refunds`): a refund pending for days is asked about once
    # every PAYMENTS_RECONCILE_AFTER_S, not at every pass.
    pending = db.session.execute(
        select(Payment.updated_at, Payment.id)
        .where(_unsettled_refund(before=now - after), Payment.updated_at < now - after)
        .order_by(Payment.updated_at)
        .limit(RECONCILE_BATCH)
    ).all()
    db.session.commit()
    # One queue: a pass cut short by its budget leaves no kind waiting behind the others.
    queue = sorted(
        [(at, payment_id, "payment") for at, payment_id in unsettled]
        + [(at, payment_id, "ask") for at, payment_id in unanswered]
        + [(at, payment_id, "refund") for at, payment_id in pending]
    )
    started, budget = monotonic(), _reconcile_budget()
    asked = 0
    for done, (_, payment_id, kind) in enumerate(queue):
        if done and monotonic() - started >= budget:
            left = len(queue) - done
            log.info("reconciliation stopped at its %s s budget: %s left", budget, left)
            break
        if kind == "refund":
            try:
                _reconcile_refunds(payment_id, now - after)
                asked += 1
            except (Unavailable, provider.Refused, NotFound) as exc:
                db.session.rollback()
                log.warning(
                    "payment %s: a pending refund could not be asked about: %s",
                    payment_id,
                    type(exc).__name__,
                )
                _put_back(payment_id, _unsettled_refund())
            continue
        if kind == "ask":
            try:
                _finish_open_asks(get_payment(payment_id, lock=True))
                db.session.commit()
                asked += 1
            except (Unavailable, NotFound) as exc:
                db.session.rollback()
                log.warning(
                    "payment %s: a refund still unanswered: %s", payment_id, type(exc).__name__
                )
                _put_back(payment_id, _open_ask())
            continue
        try:
            _reconcile_one(payment_id)
            asked += 1
        except (Unavailable, provider.Refused, NotFound) as exc:
            db.session.rollback()
            log.warning("payment %s could not be reconciled: %s", payment_id, type(exc).__name__)
            _put_back(payment_id, Payment.status.in_(UNSETTLED))
    return asked


def _reconcile_budget() -> float:
    """How long a reconciliation pass starts payments for: RECONCILE_BUDGET_S, and at most half
    PAYMENTS_RECONCILE_INTERVAL_S, so that the relay delivers events at least half the time while
    payments are waiting (a pass cut short is due again one interval after it started)."""
    return min(RECONCILE_BUDGET_S, current_app.config["PAYMENTS_RECONCILE_INTERVAL_S"] / 2)


def _open_ask(after: datetime | None = None):
    """Whether a payment has a refund ask still open (asked before `after`)."""
    asks = select(RefundAsk.payment_id).where(
        RefundAsk.payment_id == Payment.id, RefundAsk.state == "open"
    )
    if after is not None:
        asks = asks.where(RefundAsk.asked_at < after)
    return asks.exists()


def _unsettled_refund(before: datetime | None = None):
    """Whether a payment has a refund the provider made that is still unsettled there (recorded
    before `before`), and that it has not said it no longer knows (`_refund_lost`)."""
    refunds = select(Refund.id).where(
        Refund.payment_id == Payment.id,
        Refund.status.in_(REFUND_UNSETTLED),
        Refund.lost_at.is_(None),
    )
    if before is not None:
        refunds = refunds.where(Refund.created_at < before)
    return refunds.exists()


def _reconcile_refunds(payment_id: int, before: datetime) -> None:
    """The payment's refunds recorded before `before` and still unsettled, asked about (no
    transaction open meanwhile), the provider's answers applied under the payment's lock as
    their webhooks would be; one it no longer knows is set aside, flagged (`_refund_lost`),
    and holds back none of the others' answers. The payment touched, so one still pending is
    asked again only after another PAYMENTS_RECONCILE_AFTER_S."""
    refs = db.session.scalars(
        select(Refund.provider_ref)
        .where(
            Refund.payment_id == payment_id,
            Refund.status.in_(REFUND_UNSETTLED),
            Refund.lost_at.is_(None),
            Refund.created_at < before,
        )
        .order_by(Refund.id)
    ).all()
    db.session.commit()
    answers, lost = [], []
    for ref in refs:
        try:
            answers.append(provider.retrieve_refund(ref))
        except provider.Missing:
            lost.append(ref)
    payment = get_payment(payment_id, lock=True)
    for made in answers:
        apply_refund_updated(payment, made)
    for ref in lost:
        _refund_lost(payment, ref)
    payment.updated_at = utcnow()
    db.session.commit()


def _refund_lost(payment: Payment, ref: str) -> None:
    """The provider answered that it no longer knows the locked payment's refund `ref` (its
    state lost, or the key now another mode's or account's), as `_lost` treats a PaymentIntent:
    whether the money went back can no longer be asked, so an admin looks. It is marked, and
    never asked about again; its amount stays counted as it was; a webhook of it still applies.
    One a webhook settled since it was asked about is left as that webhook left it."""
    refund = db.session.scalar(
        select(Refund)
        .where(Refund.provider_ref == ref)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if refund is None or refund.status not in REFUND_UNSETTLED or refund.lost_at is not None:
        return
    refund.lost_at = utcnow()
    log.error("payment %s: the provider no longer knows its refund %s", payment.id, ref)
    _flag(payment, reasons.REFUND_LOST, refund_ref=ref, amount=refund.amount)


def _drop_unchecked(payment_id: int) -> None:
    """A payment whose request died before it read the order again (`_ensure_still_payable`):
    the provider never heard of it, and reconciliation has no caller's token to read the order
    with (it may have been cancelled, edited or paid meanwhile, its event finding no row). It
    goes, key and all (`_forget`): nothing was charged, and a retry starts afresh. Under the
    row's lock, so one its request checked meanwhile (and is paying) stays."""
    if get_payment(payment_id, lock=True).order_checked:
        db.session.commit()
        return
    log.warning("payment %s: its request died before the order was read again: dropped", payment_id)
    _forget(payment_id)


def _put_back(payment_id: int, still) -> None:
    """A payment reconciliation could not settle (`still` true of it) goes behind the others (the
    least recently touched are asked first, a batch at a time), so however many cannot be
    settled, the rest still are."""
    db.session.execute(
        update(Payment).where(Payment.id == payment_id, still).values(updated_at=utcnow())
    )
    db.session.commit()


def _reconcile_one(payment_id: int) -> None:
    payment = get_payment(payment_id)
    db.session.commit()
    if not payment.order_checked and payment.provider_ref is None:
        _drop_unchecked(payment_id)
        return
    if payment.provider_ref is None and not _key_kept(payment):
        _unasked(payment_id)
        return
    refusal = None
    if payment.provider_ref is None:
        # The provider never answered: asking again with the same key gets the same intent (or
        # makes it now, once; unconfirmed if its order let go of it: `_first_intent`).
        try:
            intent = _first_intent(payment)
        except provider.Declined as declined:
            intent, refusal = declined.intent or {}, (declined.reason, declined.code)
        except provider.Refused as refused:
            intent, refusal = refused.intent or {}, (refused.message, refused.code)
    else:
        intent = _retrieve(payment)
    locked = get_payment(payment_id, lock=True)
    if refusal is not None:
        # As on the request: a refusal with no PaymentIntent is not announced once its order
        # let go of the payment.
        _apply_refusal(locked, intent, *refusal)
    else:
        if intent is None:
            intent = _lost(locked, "requires_payment_method")
        apply_intent(locked, intent)
    # Touched: asked again only after another PAYMENTS_RECONCILE_AFTER_S.
    locked.updated_at = utcnow()
    db.session.commit()
    expired = locked.pix_expires_at is not None and locked.pix_expires_at <= utcnow()
    if locked.status == "requires_action" and expired:
        _cancel_at_provider(locked)
        db.session.commit()
