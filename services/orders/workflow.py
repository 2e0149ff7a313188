"""The status machine: pending → paid → shipped → delivered, pending|paid → cancelled. Each step
does its part in inventory (cancel releases, ship commits, deliver adds holdings through the
outbox) and is written into the order's history. Every step emits `order.<status>` {order_id,
client_id, total, status, note} (`order.delivered` adds its items for inventory's holdings;
`order.cancelled` the previous_status: payments refunds a paid order's payment on it;
`order.paid` and `order.cancelled` their lines {product_id, quantity} (and `paid_at`): products
counts units sold; notifications tells the client of each); steps payments' events take are in
services/orders/payments.py."""

from __future__ import annotations

from services.kit import Conflict, Forbidden, utcnow

from . import inventory
from .models import Order, OrderEvent, db, outbox
from .orders import get_order

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
}


def ensure_may_move(order: Order, target: str, caller) -> None:
    """A user may cancel their own pending order; every other step is the admin's."""
    if caller.role == "admin":
        return
    if target != "cancelled" or order.created_by != caller.id:
        raise Forbidden("Only an admin may move an order to this status")
    if order.status == "paid":
        raise Forbidden("Only an admin may cancel a paid order")


def ensure_transition(order: Order, target: str) -> None:
    """Only the steps of the machine: anything else is a 409."""
    if target not in TRANSITIONS.get(order.status, ()):
        raise Conflict(f"An order that is {order.status} cannot become {target}")


def transition(order_id: int, target: str, caller, note: str | None = None) -> Order:
    """The order's row stays locked while inventory does its part, so two steps of one order
    never interleave; inventory's release and commit are idempotent, so a step retried after a
    failure here does its part once."""
    order = get_order(order_id, lock=True)
    ensure_may_move(order, target, caller)
    ensure_transition(order, target)
    if target == "cancelled":
        inventory.release(order_id)
        announce_cancelled(order, note)
    elif target == "shipped":
        inventory.commit(order_id)
        outbox.emit("order.shipped", facts(order, target, note))
    elif target == "paid":
        announce_paid(order, note)
    elif target == "delivered":
        items = [
            {
                "product_id": item.product_id,
                "product_name": item.product_name,
                "quantity": item.quantity,
            }
            for item in order.items
        ]
        outbox.emit("order.delivered", {**facts(order, target, note), "items": items})
    order.status = target
    order.updated_at = utcnow()
    db.session.add(OrderEvent(order_id=order.id, status=target, by=caller.id, note=note))
    db.session.commit()
    return get_order(order_id)


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


def announce_paid(order: Order, note: str | None = None) -> None:
    """`order.paid`, with its lines and when (products counts units sold for `popularity`)."""
    outbox.emit(
        "order.paid",
        {**facts(order, "paid", note), "items": sold_lines(order), "paid_at": utcnow().isoformat()},
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
