"""The status machine: pending → paid → shipped → delivered, pending|paid → cancelled. Each step
does its part in inventory (cancel releases, through the outbox first; ship commits; deliver adds
holdings through the outbox) and is written into the order's history. Every step emits
`order.<status>` {order_id, client_id, total, status, note} (`order.delivered` adds its items
for inventory's holdings; `order.cancelled` the previous_status: payments refunds a paid order's
payment on it; `order.paid` and `order.cancelled` their lines {product_id, quantity} (and
`paid_at`): products counts units sold; `order.paid` the `payment_id` that paid it, null when an
admin marks it paid by hand: payments lets go of every other open payment of the order;
notifications tells the client of each); steps payments' events take are in
services/orders/payments.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from services.kit import Conflict, Forbidden, utcnow

from . import inventory, known
from .events import announce_cancelled, announce_paid, facts
from .models import Order, OrderEvent, db, outbox
from .orders import get_order, give_back_stock, read_order, release_at_once

log = logging.getLogger("feira.orders")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
}


def ensure_may_move(order: Order, target: str, caller) -> None:
    """A user may cancel their own pending order; every other step is the admin's."""
    if caller.role == "admin":
        return
    if target != "cancelled":
        raise Forbidden("Only an admin may move an order to this status")
    if order.created_by != caller.id:
        raise Forbidden("Only the user who placed the order, or an admin, may cancel it")
    if order.status == "paid":
        raise Forbidden("Only an admin may cancel a paid order")


def ensure_transition(order: Order, target: str) -> None:
    """Only the steps of the machine: anything else is a 409."""
    if target not in TRANSITIONS.get(order.status, ()):
        raise Conflict(f"An order that is {order.status} cannot become {target}")


@contextmanager
def saying_status(order: Order) -> Iterator[None]:
    """A step refused (a 409: not a step of the machine, or inventory refusing its part) says
    the status the order is in as `current_status`: a retry whose first try moved the order
    tells so without reading `detail`."""
    status = order.status
    try:
        yield
    except Conflict as refused:
        refused.extra.setdefault("current_status", status)
        raise


def ensure_not_refunded(order: Order) -> None:
    """An order whose payment went back in full is not shipped (goods sent for money returned);
    a partial refund ships what is left of the sale. Cancelling is what is left to do: payments
    takes no new payment for a paid order, nor orders a success for one."""
    if order.payment_id is not None and order.refunded_amount >= order.total:
        raise Conflict(
            f"Order {order.id}'s payment was refunded in full: cancel it, it cannot ship"
        )


def ship_stock(order: Order) -> None:
    """The reservation's units leave on hand as the order's lines say. An edit whose reservation
    could not be put back (inventory's answers lost: orders.py `_put_back`) left it holding other
    lines: they become the order's first, so what ships is what was paid for."""
    lines = {item.product_id: item.quantity for item in order.items}
    held = inventory.held(order.id, f"ship order {order.id}")
    if held != lines:
        log.error(
            "order %s: inventory held %s for its lines %s; set to its lines before shipping",
            order.id,
            held,
            lines,
        )
        inventory.replace(order.id, lines, f"ship order {order.id}")
    inventory.commit(order.id)


def transition(order_id: int, target: str, caller, note: str | None = None) -> Order:
    """The order's row stays locked while inventory does its part, so two steps of one order
    never interleave; inventory's commit is idempotent, so a ship retried after a failure here
    does its part once. A cancel gives the stock back through the outbox in its own transaction
    (`give_back_stock`), and only then asks inventory to release it at once."""
    order = get_order(order_id, lock=True)
    ensure_may_move(order, target, caller)
    held = False
    with saying_status(order):
        ensure_transition(order, target)
        if target == "cancelled":
            held = give_back_stock(order_id, paid=order.status == "paid")
            announce_cancelled(order, note)
        elif target == "shipped":
            ensure_not_refunded(order)
            if order.shipping_address_id is not None:
                # Read before the stock leaves: clients not answering holds up nothing.
                order.shipped_to = known.address_as_shipped(
                    order.client_id, order.shipping_address_id
                )
            ship_stock(order)
            outbox.emit("order.shipped", facts(order, target, note))
        elif target == "paid":
            # By hand (cash, or the operator's word for a payment Feira did not see): no payment
            # of ours paid it, and payments lets go of any still open.
            announce_paid(order, note, payment_id=None)
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
    if held:
        release_at_once(order_id)
    return read_order(order_id)
