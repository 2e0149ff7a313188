"""What orders does when payments speaks: `payment.succeeded` pays a pending order whose total is
the amount paid (and the order records that payment), `payment.expired` (an unpaid PIX past its
expiry) cancels a pending one, `payment.refunded` records what went back of a payment, and the
order that payment paid shows it (a payment refunded in full does not ship: workflow.py). All
run inside the inbox's transaction (the receiver commits, once per event id) with the order's row
locked; a status they change is written into its history `by` "payments".

- A payment for another amount than the order's total, or for an order that is no longer
  pending (cancelled meanwhile, or already paid), changes nothing and is logged: payments flags
  the amount itself, and refunds a payment whose order was cancelled when it hears
  `order.cancelled`.
- Every payment's refunds are kept as payments last said them (PaymentRefund), whichever order
  it paid: the outbox may deliver a refund before the success that pays the order (a retried
  event waits its backoff), and that success then takes the refunds already heard. A refund of
  another payment (one its order let go of: paid another way, or cancelled) is not the order's
  money and changes nothing on it.
- The expired PIX's order gives its stock back through `order.abandoned` in the same
  transaction (inventory releases whatever the order's reservation still holds, idempotently):
  an event carries no user's token for inventory's reservation routes, and the outbox retries
  until inventory hears it. `order.cancelled` is emitted as for any cancellation.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert

from services.kit import utcnow
from services.kit.fields import event_amount, event_instant

from .events import announce_paid, cancel_for, moved_by
from .models import Order, PaymentRefund, db

log = logging.getLogger("feira.orders")
BY = "payments"
# The order's payment methods each of payments' may be: a card payment keeps the order's card
# (payments does not tell credit from debit), and makes an order said otherwise a credit card.
ORDER_METHODS = {"pix": ("pix",), "card": ("credit_card", "debit_card")}


def _locked(order_id: int) -> Order | None:
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    )


def on_payment_succeeded(data: dict) -> None:
    """`payment.succeeded` {payment_id, order_id, amount, method}: pending → paid when the amount
    is the order's total, by that payment, and with its method."""
    order_id, payment_id = int(data["order_id"]), int(data["payment_id"])
    amount = event_amount(data["amount"])
    order = _locked(order_id)
    if order is None:
        log.warning("payment %s succeeded for order %s, which does not exist", payment_id, order_id)
        return
    if order.status != "pending":
        log.warning(
            "payment %s succeeded for order %s, which is %s: unchanged",
            payment_id,
            order_id,
            order.status,
        )
        return
    if amount != order.total:
        log.warning(
            "payment %s of %s does not match order %s's total %s: not paid",
            payment_id,
            amount,
            order_id,
            order.total,
        )
        return
    order.payment_id = payment_id
    order.refunded_amount = _refunded(payment_id)
    order.payment_method = paid_with(order.payment_method, data.get("method"))
    announce_paid(order, f"payment {payment_id}", payment_id)
    moved_by(order, "paid", BY, f"payment {payment_id}")


def paid_with(ordered: str | None, method: str | None) -> str | None:
    """The order's payment method once a payment of `method` (payments': "pix", "card"; absent
    from events sent before it was added) paid it."""
    kinds = ORDER_METHODS.get(method or "")
    if not kinds or ordered in kinds:
        return ordered
    return kinds[0]


def on_payment_refunded(data: dict) -> None:
    """`payment.refunded` {payment_id, order_id, refunded_amount, version, ...}: what went back
    in all of the payment, kept newest by `version` (the payment's `updated_at`: a failed refund
    lowers it, an older event delivered after a newer one changes nothing). The order that
    payment paid follows the figure kept."""
    order_id, payment_id = int(data["order_id"]), int(data["payment_id"])
    refunded = event_amount(data["refunded_amount"])
    if refunded < 0:
        raise ValueError("a payment's refunded_amount is never negative")
    version = event_instant(data["version"])
    order = _locked(order_id)
    db.session.execute(
        _KEEP_REFUNDS,
        {"payment_id": payment_id, "refunded_amount": refunded, "version": version},
    )
    if order is None or order.payment_id != payment_id:
        log.info(
            "payment %s refunded %s; order %s %s: unchanged",
            payment_id,
            refunded,
            order_id,
            "is gone" if order is None else "was not paid by it",
        )
        return
    kept = _refunded(payment_id)
    if kept != order.refunded_amount:
        order.refunded_amount = kept
        order.updated_at = utcnow()


def _keep_refunds():
    stmt = insert(PaymentRefund).values(
        {name: bindparam(name) for name in ("payment_id", "refunded_amount", "version")}
    )
    new, kept = stmt.excluded, PaymentRefund
    return stmt.on_conflict_do_update(
        index_elements=[kept.payment_id],
        set_={"refunded_amount": new.refunded_amount, "version": new.version},
        where=kept.version < new.version,
    )


# Built once, bound per event (as known.py's upserts).
_KEEP_REFUNDS = _keep_refunds()


def _refunded(payment_id: int) -> Decimal:
    """What went back of the payment as last heard (0: nothing heard)."""
    kept = db.session.scalar(
        select(PaymentRefund.refunded_amount).where(PaymentRefund.payment_id == payment_id)
    )
    return kept if kept is not None else Decimal(0)


def on_payment_expired(data: dict) -> None:
    """`payment.expired` {payment_id, order_id}: an unpaid PIX expired; a pending order is
    cancelled and its stock released."""
    order_id, payment_id = int(data["order_id"]), int(data["payment_id"])
    order = _locked(order_id)
    if order is None or order.status != "pending":
        log.info(
            "payment %s expired; order %s is %s: unchanged",
            payment_id,
            order_id,
            "gone" if order is None else order.status,
        )
        return
    cancel_for(order, BY, "PIX expired")
