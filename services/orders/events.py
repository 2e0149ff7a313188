"""What orders tells the other services of an order (through its outbox, in the transaction that
changes it): every step emits `order.<status>` {order_id, client_id, total, status, note};
`order.paid` and `order.cancelled` add its lines (products counts units sold), `order.paid` the
payment that paid it (payments lets go of any other), and `order.cancelled` the previous status
(payments refunds a paid order's payment); an edited order emits `order.updated` (payments lets
go of a payment whose amount is no longer the total)."""

from __future__ import annotations

from services.kit import utcnow

from .models import Order, OrderEvent, db, outbox


def facts(order: Order, target: str, note: str | None = None) -> dict:
    """What every `order.<status>` event carries: {order_id, client_id, total, status (the new
    one), note} (notifications tells the client)."""
    return {
        "order_id": order.id,
        "client_id": order.client_id,
        "total": str(order.total),
        "status": target,
        "note": note,
    }


def sold_lines(order: Order) -> list[dict]:
    """The order's lines as products counts its sales: [{product_id, quantity}]."""
    return [{"product_id": item.product_id, "quantity": item.quantity} for item in order.items]


def announce_paid(order: Order, note: str | None = None, payment_id: int | None = None) -> None:
    """`order.paid`, with its lines and when (products counts units sold for `popularity`), and
    `payment_id`, the payment that paid it (null: an admin marked it paid by hand): payments
    lets go of the order's other open payments, so the order is not paid twice."""
    outbox.emit(
        "order.paid",
        {
            **facts(order, "paid", note),
            "items": sold_lines(order),
            "paid_at": utcnow().isoformat(),
            "payment_id": payment_id,
        },
    )


def announce_cancelled(order: Order, note: str | None = None) -> None:
    """`order.cancelled`, in the transaction that cancels it (before its status changes), with
    its lines: a paid order's stop counting as sold."""
    outbox.emit(
        "order.cancelled",
        {
            **facts(order, "cancelled", note),
            "previous_status": order.status,
            "items": sold_lines(order),
        },
    )


def announce_updated(order: Order) -> None:
    """`order.updated`, in the transaction that changes a pending order (its items, address or
    payment method), with the total as it now is and `updated_at`, the edit's time as
    `GET /orders/{id}` shows it: payments tells from it an edit older than its payment's read
    of the order (the relay may deliver events out of order after a failure)."""
    order.updated_at = utcnow()
    outbox.emit(
        "order.updated",
        {**facts(order, order.status), "updated_at": order.updated_at.isoformat()},
    )


def cancel_for(order: Order, by_service: str, note: str) -> None:
    """A pending order cancelled by what another service said (a PIX expired, its client
    deleted: a paid one too), inside the event's transaction with the order's row locked:
    announced, and its stock given back through `order.abandoned` (an event carries no user's
    token for inventory's reservation routes; the outbox retries until inventory hears it)."""
    announce_cancelled(order, note)
    outbox.emit("order.abandoned", {"order_id": order.id})
    moved_by(order, "cancelled", by_service, note)


def moved_by(order: Order, target: str, by_service: str, note: str | None) -> None:
    """The order's new status, written into its history as the step of a service."""
    order.status = target
    order.updated_at = utcnow()
    db.session.add(OrderEvent(order_id=order.id, status=target, by_service=by_service, note=note))
