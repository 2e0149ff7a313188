"""What the orders service does with orders: placing one (client and products checked in the read
model, prices copied, stock reserved in inventory: its one synchronous call), editing and
deleting it, finding it, and sweeping away the orders whose creation never finished.

Placing an order never leaves a reservation without an order nor an order without its
reservation: the order row is committed first as `reserving` (so its id exists), inventory
reserves under that id, and only then does it become `pending`. When inventory fails or cannot
be heard, the order becomes `abandoned` and `order.abandoned` goes through the outbox, so
inventory gives back whatever it may have reserved; the sweeper does it again, and deletes the
row, once no request can still be on its way (`SWEEP_GRACE_SECONDS`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm.attributes import set_committed_value

from services.kit import (
    Conflict,
    Forbidden,
    NotFound,
    Unavailable,
    Unprocessable,
    paginate,
    precondition,
    utcnow,
)
from services.kit.db import kept_after_commit, read_in_one_snapshot, run_again_if_aborted
from services.kit.failpoints import failpoint
from services.kit.fields import Money
from services.kit.idempotency import NO_KEY, Key, NoKey

from . import inventory, known
from .events import announce_cancelled, announce_updated
from .idempotency import placing
from .models import (
    INTERNAL_STATUSES,
    STATUSES,
    KnownAddress,
    KnownClient,
    Order,
    OrderEvent,
    OrderItem,
    ReservationEdit,
    db,
    outbox,
)
from .schemas import OrderSchema, merged

log = logging.getLogger("feira.orders")
SWEEP_BATCH = 100

# Placing an order runs these on every request: built once, bound per call, and run on the
# session's connection (building a statement and the ORM's unit of work cost several times what
# PostgreSQL does with it). The order answered is assembled from what they write and return.
# An order whose external reference another order has is not stored: it returns no row (the
# partial unique index decides, however many are placed at once; it waits for one being stored).
_STORE_ORDER = (
    pg_insert(Order)
    .values(shipping_state=known.shipping_state(bindparam("state_of_address")))
    .on_conflict_do_nothing(
        index_elements=[Order.external_ref], index_where=Order.external_ref.is_not(None)
    )
    .returning(Order.id, Order.created_at, Order.updated_at, Order.refunded_amount)
)
# Tries at storing an order whose reference's holder goes (given up, deleted) each time between
# the refusal and the look-up, before a 503.
STORE_TRIES = 3
_STORE_LINES = insert(OrderItem)
# The order's client and its address in the read model, share-locked until the order is pending,
# and both before the order's row (as each event locks its row before the orders it changes; a
# relay batch of two events may still lock them the other way: see `make_pending`). A
# `client.deleted` being taken (known.on_client_deleted) waits for it and then cancels it, or it
# waits for that and is refused: a pending order never outlives its client's deletion. An
# `address.deleted` being taken (known.on_address_deleted) waits for it and then finds it
# pending, or it waits for that and reads the address deleted (answered): either way the order
# is logged for an admin.
_STANDING = select(
    select(KnownClient.deleted)
    .where(KnownClient.id == bindparam("its_client"))
    .with_for_update(read=True)
    .scalar_subquery()
    .label("client_deleted"),
    select(KnownAddress.deleted)
    .where(KnownAddress.id == bindparam("its_address"))
    .with_for_update(read=True)
    .scalar_subquery()
    .label("address_deleted"),
).cte("standing")
_MAKE_PENDING = (
    update(Order)
    .where(
        Order.id == bindparam("order_id"),
        Order.status == "reserving",
        ~func.coalesce(select(_STANDING.c.client_deleted).scalar_subquery(), False),
    )
    .values(status="pending", updated_at=bindparam("now"))
    .returning(select(_STANDING.c.address_deleted).scalar_subquery())
)
_STORE_EVENT = insert(OrderEvent).returning(OrderEvent.id, OrderEvent.at)


# --- reading ---

# The list's sort keys; the order's id breaks ties.
SORTABLE = {"created_at": Order.created_at, "total": Order.total}


def find_orders(args: dict) -> dict:
    """A page of the orders `args` asks for, as `read_order` reads one."""
    read_in_one_snapshot(db)
    return paginate(db, search(args), args, SORTABLE, Order.id)


def read_order(order_id: int) -> Order:
    """One order as the API shows it. Its row, its lines and its history are three SELECTs
    (`lazy="selectin"`), read from one snapshot: else an edit or a status step committed between
    them would answer its new lines under the old total, or `pending` with a `paid` history.
    An edit or a status step answers with it too, once its own change has committed."""
    read_in_one_snapshot(db)
    return get_order(order_id)


def search(args: dict):
    stmt = select(Order).where(Order.status.in_(STATUSES))
    if "id" in args:
        stmt = stmt.where(Order.id == args["id"])
    if "client_id" in args:
        stmt = stmt.where(Order.client_id == args["client_id"])
    if "external_ref" in args:
        stmt = stmt.where(Order.external_ref == args["external_ref"])
    if "shipping_address_id" in args:
        stmt = stmt.where(Order.shipping_address_id == args["shipping_address_id"])
    if args.get("status"):
        stmt = stmt.where(Order.status.in_(args["status"]))
    if "category_id" in args:
        lines = select(OrderItem.order_id).where(OrderItem.category_id == args["category_id"])
        stmt = stmt.where(Order.id.in_(lines))
    if "product_id" in args:
        lines = select(OrderItem.order_id).where(OrderItem.product_id == args["product_id"])
        stmt = stmt.where(Order.id.in_(lines))
    if "created_from" in args:
        stmt = stmt.where(Order.created_at >= args["created_from"])
    if "created_to" in args:
        stmt = stmt.where(Order.created_at < args["created_to"])
    return stmt


def get_order(order_id: int, *, lock: bool = False) -> Order:
    stmt = select(Order).where(Order.id == order_id, Order.status.in_(STATUSES))
    if lock:
        stmt = stmt.with_for_update(of=Order).execution_options(populate_existing=True)
    order = db.session.scalar(stmt)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order


# --- what other services say ---


def priced_lines(
    wanted: dict[int, int], products: dict[int, dict], kept: dict[int, OrderItem]
) -> tuple[list[OrderItem], Decimal]:
    """Order lines with the name, category and price copied now, and their total (a 422 naming
    `items` when it is more than money holds). A line an edit keeps at the same or a smaller
    quantity keeps the price it was ordered at; one that grows is priced as a new line is, at the
    product's price now (else units added after a rise would sell at the old price)."""
    items = []
    for product_id, quantity in sorted(wanted.items()):
        product = products[product_id]
        before = kept.get(product_id)
        keeps_its_price = before is not None and quantity <= before.quantity
        price = before.unit_price if keeps_its_price else product["price"]
        items.append(
            OrderItem(
                product_id=product_id,
                product_name=str(product["name"])[:200],
                category_id=product.get("category_id"),
                quantity=quantity,
                unit_price=price,
                line_total=(price * quantity).quantize(Decimal("0.01")),
            )
        )
    total = sum((item.line_total for item in items), Decimal("0.00"))
    if total > Money.MAX:
        # The lines and the total are stored as money (12 digits): named here, before anything
        # is reserved, rather than a 422 naming no field when the INSERT overflows.
        raise Unprocessable({"items": [f"The order's total would be over {Money.MAX}."]})
    return items, total


# --- placing ---


def place_order(data: dict, user_id: int, key: Key | NoKey = NO_KEY) -> Order:
    """Place an order, so that no crash or failure leaves a reservation without its order, an
    order without its reservation, or (under an Idempotency-Key) two orders for one key.

    1. The client, its address and the products are checked in orders' read model of them
       (`known`; an id it lacks is read over HTTP), 422 naming what is wrong, and the lines
       copy each product's name, category and price.
    2. The order is committed as `reserving`, hidden from the API, so its id exists before
       inventory hears of it; the key is bound to it in that same transaction.
    3. Inventory reserves every line or none under the order's id (idempotent by that id).
       Short stock: the order is deleted, a 409 with `short`. Inventory down or failing: the
       order becomes `abandoned` and `order.abandoned` goes through the outbox, so inventory
       gives back whatever it may hold; a 503.
    4. The order becomes `pending`, its history starts, and the key is answered with it, all
       in one transaction.

    A process killed on the way leaves the order `reserving`. A retry with the same key resumes
    it (`key.resource_id`): inventory answers the reservation it made, or makes it now, and the
    order becomes pending; if inventory released it meanwhile, the order is abandoned and
    placed anew, once. Without a retry, the sweeper (`sweep`) gives it up after
    `SWEEP_GRACE_SECONDS`: inventory releases it and the row goes.
    """
    # The order it stored, and then made pending, answers the request and its key as it is.
    with kept_after_commit(db):
        if key.resource_id is not None:
            resumed = _resume(key.resource_id, user_id, key)
            if resumed is not None:
                return resumed
        order = _store_reserving(data, user_id, key)
        failpoint("orders.reserving_committed")
        placed = _reserve_and_make_pending(order, merged(data["items"]), user_id, key)
    if placed is None:
        raise Unavailable("The inventory service could not reserve the stock")
    return placed


def _store_reserving(data: dict, user_id: int, key: Key | NoKey) -> Order:
    """Steps 1 and 2 of `place_order`."""
    wanted = merged(data["items"])
    problems = known.client_problems(data["client_id"], data.get("shipping_address_id"))
    products, product_problems = known.products(wanted)
    if product_problems:
        problems["items"] = product_problems
    if problems:
        # What was read over HTTP on the way is worth keeping for the next order.
        db.session.commit()
        raise Unprocessable(problems)
    items, total = priced_lines(wanted, products, {})
    values = {
        "client_id": data["client_id"],
        "status": "reserving",
        "total": total,
        "shipping_address_id": data.get("shipping_address_id"),
        "payment_method": data.get("payment_method"),
        "created_by": user_id,
        "external_ref": data.get("external_ref"),
    }
    stored = _store_order(values)
    connection = db.session.connection()
    connection.execute(_STORE_LINES, [_line(stored.id, item) for item in items])
    key.bind(stored.id)
    db.session.commit()
    # Never added to the session: it answers the request as written, and nothing flushes it.
    return Order(
        **values,
        id=stored.id,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        refunded_amount=stored.refunded_amount,
        items=items,
        history=[],
    )


def _store_order(values: dict):
    """The order's row (its id, dates and refunded amount), unless another order has its
    external reference: then a 409 naming that order, what was read over HTTP on the way kept.
    An order still being placed under it (`reserving`) is no order yet, and may never be one
    (short of stock, abandoned): a 503 to try again, which finds it placed (the 409) or gone."""
    connection = db.session.connection()
    for _ in range(STORE_TRIES):
        stored = connection.execute(
            _STORE_ORDER, {**values, "state_of_address": values["shipping_address_id"]}
        ).first()
        if stored is not None:
            return stored
        # A statement of its own, so it sees the holder that committed while the INSERT waited.
        reference = values["external_ref"]
        holder = db.session.execute(
            select(Order.id, Order.status).where(Order.external_ref == reference)
        ).first()
        if holder is not None:
            db.session.commit()
            if holder.status not in STATUSES:
                raise Unavailable(
                    f'An order with the external reference "{reference}" is being placed: '
                    "ask again in a moment; nothing was kept"
                )
            raise Conflict(
                f'Order {holder.id} already has the external reference "{reference}"',
                extra={"external_ref": reference, "existing_order_id": holder.id},
            )
    db.session.rollback()
    raise Unavailable("The order took too long to place; nothing was kept")


def _line(order_id: int, item: OrderItem) -> dict:
    return {
        "order_id": order_id,
        "product_id": item.product_id,
        "product_name": item.product_name,
        "category_id": item.category_id,
        "quantity": item.quantity,
        "unit_price": item.unit_price,
        "line_total": item.line_total,
    }


def _resume(order_id: int, user_id: int, key: Key) -> Order | None:
    """The order an earlier attempt under this key stored and never completed, completed now;
    None when it is gone (swept, abandoned, or its reservation released): place anew."""
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is None or order.status == "abandoned":
        db.session.rollback()
        return None
    lines = {item.product_id: item.quantity for item in order.items}
    # Ends the read's transaction (no transaction stays open across inventory's call), and the
    # order stays loaded.
    db.session.commit()
    return _reserve_and_make_pending(order, lines, user_id, key)


def _reserve_and_make_pending(
    order: Order, lines: dict[int, int], user_id: int, key: Key | NoKey
) -> Order | None:
    """Steps 3 and 4 of `place_order`; None when inventory holds the order's reservation no
    more (the order is abandoned)."""
    # Kept: after a rollback below the loaded order is expired, and the sweeper may have deleted
    # its row.
    order_id, client_id, address_id = order.id, order.client_id, order.shipping_address_id
    try:
        state = inventory.reserve(order_id, lines)
    except Conflict:
        # Inventory reserved nothing (all lines or none): the order simply never existed.
        db.session.execute(delete(Order).where(Order.id == order_id))
        db.session.commit()
        raise
    except Unavailable:
        _abandon(order_id)
        raise
    failpoint("orders.inventory_reserved")
    if state != "reserved":
        _abandon(order_id)
        return None
    history = list(order.history)

    def make_pending() -> bool:
        """Step 4, in one transaction; whether the order's address was deleted meanwhile."""
        now = utcnow()
        connection = db.session.connection()
        became_pending = connection.execute(
            _MAKE_PENDING,
            {"order_id": order_id, "its_client": client_id, "its_address": address_id, "now": now},
        ).first()
        if became_pending is None:
            db.session.rollback()
            if known.client_deleted(client_id):
                # Deleted while its stock was being reserved.
                _abandon(order_id)
                raise Unprocessable({"client_id": [f"Client {client_id} does not exist."]})
            # The sweeper gave up on it (it took longer than the grace): its stock is on its way
            # back.
            raise Unavailable("The order took too long to place; nothing was kept")
        event = {"order_id": order_id, "status": "pending", "by": user_id, "note": None}
        written = connection.execute(_STORE_EVENT, event).one()
        # The loaded order is told what the rows now say, as committed: no flush writes it again.
        set_committed_value(order, "status", "pending")
        set_committed_value(order, "updated_at", now)
        set_committed_value(
            order, "history", [*history, OrderEvent(**event, id=written.id, at=written.at)]
        )
        key.answer(order)
        db.session.commit()
        return bool(became_pending[0])

    # Its client's and address's locks may close a cycle with one relay batch that locks the
    # same two rows the other way (an address event, then client.deleted): PostgreSQL aborts one
    # of the two, and this one is run again rather than answered 503.
    address_deleted = run_again_if_aborted(
        db, make_pending, attempts=3, what="an order becoming pending"
    )
    failpoint("orders.pending_committed")
    if address_deleted:
        # Its address was deleted while its stock was being reserved: kept, as one placed just
        # before the deletion is, and logged for an admin likewise.
        known.log_stranded(address_id, client_id, [order_id])
    return order


def _abandon(order_id: int) -> None:
    """A creation that failed halfway: hidden from now on, its external reference free for the
    retry, and inventory asked (through the outbox, which retries until it hears) to give back
    whatever it may hold for it."""
    db.session.rollback()
    db.session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(status="abandoned", updated_at=utcnow(), external_ref=None)
    )
    outbox.emit("order.abandoned", {"order_id": order_id})
    db.session.commit()


def sweep(grace: timedelta) -> int:
    """Orders that never became pending (their request failed, or the process died on the way)
    and are older than `grace`: inventory is told once more to release them, and they go,
    however many there are, in batches of their own transactions. Also forgets expired
    Idempotency-Keys. Returns how many orders went."""
    cutoff = utcnow() - grace
    swept = 0
    while True:
        stale = db.session.scalars(
            select(Order)
            .where(Order.status.in_(INTERNAL_STATUSES), Order.updated_at < cutoff)
            .order_by(Order.id)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for order in stale:
            outbox.emit("order.abandoned", {"order_id": order.id})
            db.session.delete(order)
        db.session.commit()
        swept += len(stale)
        if len(stale) < SWEEP_BATCH:
            break
    placing.forget_expired()
    db.session.commit()
    if swept:
        log.info("swept %s orders that never became pending", swept)
    _settle_edits(cutoff)
    return swept


def _settle_edits(cutoff) -> None:
    """Edits of an order's lines that never finished (their mark is older than `cutoff`): the
    reservation is set to the lines the order has stored, under the order's row lock (an edit
    of it now waits, or is waited for). An order no longer pending or paid has had its
    reservation released or committed since: its mark just goes. Inventory not answering keeps
    the mark for the next sweep."""
    marked = db.session.scalars(
        select(ReservationEdit.order_id)
        .where(ReservationEdit.since < cutoff)
        .order_by(ReservationEdit.order_id)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()
    for order_id in marked:
        order = db.session.scalar(
            select(Order)
            .where(Order.id == order_id)
            .with_for_update(of=Order, skip_locked=True)
            .execution_options(populate_existing=True)
        )
        mark = select(ReservationEdit).where(
            ReservationEdit.order_id == order_id, ReservationEdit.since < cutoff
        )
        locked = order is None and db.session.scalar(select(Order.id).where(Order.id == order_id))
        if locked or db.session.scalar(mark) is None:
            # Held by a request (an edit under way marks it anew), or settled since it was read.
            db.session.rollback()
            continue
        if order is not None and order.status in ("pending", "paid"):
            lines = {item.product_id: item.quantity for item in order.items}
            try:
                inventory.replace(
                    order_id, lines, action=f"settle order {order_id}'s edit", as_user=False
                )
            except Unavailable:
                # The rest wait for the next sweep too: the relay's pass does not wait out
                # inventory's timeouts once per mark.
                db.session.rollback()
                log.warning("order %s: its unfinished edit waits for inventory", order_id)
                break
            except Conflict as refused:
                log.error(
                    "order %s: its reservation could not be set to its lines after an "
                    "unfinished edit: %s (it is set to them when it ships)",
                    order_id,
                    refused,
                )
            else:
                log.warning("order %s: its reservation set to its lines after an edit", order_id)
        db.session.execute(delete(ReservationEdit).where(ReservationEdit.order_id == order_id))
        db.session.commit()


# --- editing and deleting ---


def _ensure_may_edit(order: Order, caller) -> None:
    if caller.role != "admin" and order.created_by != caller.id:
        raise Forbidden("Only the user who placed the order, or an admin, may change it")


def edit_order(order_id: int, data: dict, caller) -> Order:
    """Items, address or payment method of a pending order. New items change the reservation in
    one inventory transaction (all lines or none); if this side then fails to store them, the
    old lines are put back."""
    if data.get("shipping_address_id") is not None:
        # An address given while `address.deleted` is being taken: one of the two sees the other.
        known.hold_address(data["shipping_address_id"])
    order = get_order(order_id, lock=True)
    _ensure_may_edit(order, caller)
    precondition(order, OrderSchema)
    if order.status != "pending":
        raise Conflict(f"Order {order_id} is {order.status}: only a pending order can change")
    address_id = data.get("shipping_address_id", order.shipping_address_id)
    problems = {}
    if data.get("shipping_address_id") is not None:
        problems = known.client_problems(order.client_id, address_id)
    wanted = None
    if "items" in data:
        wanted = merged(data["items"])
        # A line kept at no more units sells what was already sold: its product, deactivated
        # since, does not stop an edit of the others (it is shipped as ordered if left alone).
        kept_lines = {
            item.product_id
            for item in order.items
            if item.product_id in wanted and wanted[item.product_id] <= item.quantity
        }
        products, product_problems = known.products(wanted, inactive_ok=kept_lines)
        if product_problems:
            problems["items"] = product_problems
    if problems:
        raise Unprocessable(problems)
    if "shipping_address_id" in data:
        order.shipping_address_id = data["shipping_address_id"]
        order.shipping_state = known.shipping_state(data["shipping_address_id"])
    if "payment_method" in data:
        order.payment_method = data["payment_method"]
    if wanted is None:
        announce_updated(order)
        db.session.commit()
        return read_order(order_id)
    old = {item.product_id: item.quantity for item in order.items}
    kept = {item.product_id: item for item in order.items}
    items, total = priced_lines(wanted, products, kept)
    marked = _mark_edit(order_id)
    try:
        _replace_or_put_back(order_id, wanted, old)
    except Conflict:
        # Refused: inventory changed nothing. A mark an earlier, unfinished edit left stays for
        # the sweeper. (A 503 keeps this one too: inventory may have changed the lines.)
        if marked:
            _unmark_edit(order_id)
        raise
    failpoint("orders.edit_reserved")
    committing = False
    try:
        order.items.clear()
        db.session.flush()
        order.items.extend(items)
        order.total = total
        announce_updated(order)
        db.session.execute(delete(ReservationEdit).where(ReservationEdit.order_id == order_id))
        db.session.flush()
        committing = True
        db.session.commit()
    except Exception:
        # Put back while the order's row is still locked (the rollback lets the next edit in).
        # A COMMIT that failed may still have landed: what it stored is not known here, so the
        # mark (kept, or gone with it) leaves the reservation to the sweeper.
        if not committing:
            _put_back(order_id, old)
        db.session.rollback()
        raise
    return read_order(order_id)


def _mark_edit(order_id: int) -> bool:
    """An edit of the order's lines is under way, committed before inventory is asked, on a
    connection of its own (the session's transaction holds the order's row): the pool's
    overflow, which a keyed POST uses for its key's lock, an edit never keyed. False when an
    earlier edit that never finished left its mark: it stays as it is (the sweeper waits for
    this edit's lock)."""
    with db.engine.begin() as connection:
        return (
            connection.execute(
                pg_insert(ReservationEdit)
                .values(order_id=order_id)
                .on_conflict_do_nothing(index_elements=["order_id"])
                .returning(ReservationEdit.order_id)
            ).first()
            is not None
        )


def _unmark_edit(order_id: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(delete(ReservationEdit).where(ReservationEdit.order_id == order_id))


def _replace_or_put_back(order_id: int, wanted: dict[int, int], old: dict[int, int]) -> None:
    """The reservation's lines become `wanted`, or the edit is refused with nothing changed.
    Inventory that may have changed them without this side hearing (`inventory.Unanswered`)
    has the old lines put back, the order's row still locked, before the 503."""
    try:
        inventory.replace(order_id, wanted)
    except inventory.Unanswered:
        _put_back(order_id, old)
        db.session.rollback()
        raise


def _put_back(order_id: int, lines: dict[int, int]) -> None:
    """Best effort, inside a failure already on its way to the client: whatever stops it is
    logged, since the reservation and the stored lines may now differ. Nothing is lost: the
    next edit replaces the reservation's lines, a cancel or a delete releases whatever it holds,
    and shipping sets it to the order's lines before committing (`workflow.ship_stock`)."""
    try:
        inventory.replace(order_id, lines)
    except (Conflict, Unavailable) as refused:
        log.error(
            "order %s: its reservation could not be put back: %s (it is set to the order's "
            "lines when it ships)",
            order_id,
            refused,
        )


def delete_order(order_id: int) -> None:
    """Admin: a pending order is announced cancelled (`order.cancelled`: payments cancels a PIX
    still open for it, or refunds one paid meanwhile; the client is told) and its stock given
    back (`give_back_stock`) in the transaction that deletes it; a cancelled one holds nothing."""
    order = get_order(order_id, lock=True)
    precondition(order, OrderSchema)
    if order.status not in ("pending", "cancelled"):
        raise Conflict(f"Order {order_id} is {order.status}: only pending or cancelled orders go")
    held = False
    if order.status == "pending":
        held = give_back_stock(order_id)
        announce_cancelled(order, "deleted")
    db.session.delete(order)
    db.session.commit()
    if held:
        release_at_once(order_id)


def give_back_stock(order_id: int, paid: bool = False) -> bool:
    """A cancel's or a delete's part in inventory, inside its transaction, so that no failure
    or crash leaves the order open with its stock back on sale, nor gone with its stock held:
    `order.abandoned` goes through the outbox, and once it is delivered inventory releases
    whatever the reservation still holds (idempotently), inventory down meanwhile or not. A
    reservation inventory says was committed (its units left on hand) is a 409 instead, nothing
    changed. A `paid` order's reservation may have been committed by a ship whose answer was
    lost: when inventory cannot say, its cancel is a 503, nothing changed (cancelling it would
    refund goods that left). A pending order's never is. True when inventory said the
    reservation holds units: worth `release_at_once`."""
    try:
        now = inventory.state(order_id, f"release order {order_id}'s stock")
    except Unavailable as silent:
        if paid:
            raise
        log.warning("order %s: %s; its stock goes back through the outbox", order_id, silent)
        now = None
    if now == "committed":
        # Inventory's own words for it, as its release's 409 said them.
        raise Conflict(
            f"Inventory refused to release order {order_id}'s stock: "
            f"Order {order_id}'s reservation is already committed"
        )
    outbox.emit("order.abandoned", {"order_id": order_id})
    return now == "reserved"


def release_at_once(order_id: int) -> None:
    """After the cancel or delete committed: inventory asked to release the reservation now
    rather than when the relay delivers `order.abandoned`. Best effort: the status changed
    whatever it answers, and the event releases the stock anyway, so a failure is logged."""
    # The process dying here leaves it to the event.
    failpoint("orders.cancel_committed")
    try:
        inventory.release(order_id)
    except (Conflict, Unavailable) as failed:
        log.warning(
            "order %s: its stock was not released at once (%s); order.abandoned releases it",
            order_id,
            failed,
        )
