"""What inventory does with stock: the figures per product, the movement ledger, the reservations
orders make, and the `stock.changed` event every change announces."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from services.kit import Conflict, NotFound, current_caller, utcnow

from .models import Holding, Movement, Reservation, ReservationItem, Stock, db, outbox

# --- reading ---


def search(args: dict):
    stmt = select(Stock)
    if "product_id" in args:
        stmt = stmt.where(Stock.product_id == args["product_id"])
    if "low" in args:
        low = Stock.available <= Stock.reorder_level
        stmt = stmt.where(low if args["low"] else ~low)
    return stmt


def get_stock(product_id: int) -> Stock:
    stock = db.session.get(Stock, product_id)
    if stock is None:
        raise NotFound(f"Product {product_id} has no stock in inventory")
    return stock


def get_movement(product_id: int, movement_id: int) -> Movement:
    movement = db.session.scalar(
        select(Movement).where(Movement.id == movement_id, Movement.product_id == product_id)
    )
    if movement is None:
        raise NotFound(f"Product {product_id} has no movement {movement_id}")
    return movement


# --- changing ---


def _locked(product_id: int) -> Stock:
    """The row, locked until the transaction ends: every change reads and writes under it."""
    stock = db.session.get(Stock, product_id, with_for_update=True, populate_existing=True)
    if stock is None:
        raise NotFound(f"Product {product_id} has no stock in inventory")
    return stock


def _locked_in_order(product_ids) -> dict[int, Stock]:
    """Rows locked in product_id order: two transactions that want the same rows take them in the
    same order, so neither can hold one the other waits for while waiting for one it holds."""
    rows = db.session.scalars(
        select(Stock)
        .where(Stock.product_id.in_(sorted(set(product_ids))))
        .order_by(Stock.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {stock.product_id: stock for stock in rows}


def _changed(stock: Stock) -> None:
    """Every change moves the version on and tells products the new available figure."""
    stock.version += 1
    stock.updated_at = utcnow()
    outbox.emit(
        "stock.changed",
        {
            "product_id": stock.product_id,
            "available": stock.on_hand - stock.reserved,
            "version": stock.version,
        },
    )


def _record(stock: Stock, quantity: int, reason: str, note: str | None, by: int | None):
    movement = Movement(
        product_id=stock.product_id,
        quantity=quantity,
        reason=reason,
        note=note,
        on_hand_after=stock.on_hand,
        created_by=by,
    )
    db.session.add(movement)
    return movement


def move_stock(product_id: int, data: dict) -> Movement:
    """A receipt, adjustment, return or damage: on_hand changes by a signed quantity, never to
    below what is reserved (409)."""
    stock = _locked(product_id)
    after = stock.on_hand + data["quantity"]
    if after < stock.reserved:
        raise Conflict(
            f"The movement would leave {after} on hand for product {product_id}, "
            f"below the {stock.reserved} reserved"
        )
    stock.on_hand = after
    movement = _record(stock, data["quantity"], data["reason"], data["note"], current_caller().id)
    _changed(stock)
    db.session.commit()
    return movement


def set_reorder_level(product_id: int, reorder_level: int) -> Stock:
    stock = _locked(product_id)
    stock.reorder_level = reorder_level
    _changed(stock)
    db.session.commit()
    db.session.refresh(stock)
    return stock


# --- reservations ---


def get_reservation(order_id: int, *, lock: bool = False) -> Reservation:
    stmt = select(Reservation).where(Reservation.order_id == order_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    reservation = db.session.scalar(stmt)
    if reservation is None:
        raise NotFound(f"Order {order_id} has no reservation")
    return reservation


def reserve(order_id: int, items: list[dict]) -> tuple[Reservation, bool]:
    """All lines or none. Idempotent by order_id: answers the reservation and whether this call
    made it. The unique order_id decides between two calls at once: the second waits for the
    first's transaction, then finds its reservation (or, if the first was refused, its own)."""
    wanted: dict[int, int] = defaultdict(int)
    for item in items:
        wanted[item["product_id"]] += item["quantity"]
    made = db.session.execute(
        insert(Reservation)
        .values(order_id=order_id)
        .on_conflict_do_nothing(constraint="uq_reservations_order_id")
        .returning(Reservation.id)
    ).scalar()
    if made is None:
        db.session.rollback()
        return get_reservation(order_id), False
    stocks = _locked_in_order(wanted)
    short = [
        {
            "product_id": product_id,
            "requested": quantity,
            "available": stocks[product_id].available if product_id in stocks else 0,
        }
        for product_id, quantity in sorted(wanted.items())
        if product_id not in stocks
        or stocks[product_id].on_hand - stocks[product_id].reserved < quantity
    ]
    if short:
        db.session.rollback()
        _shortage(short)
    for product_id, quantity in sorted(wanted.items()):
        stock = stocks[product_id]
        stock.reserved += quantity
        _changed(stock)
        db.session.add(
            ReservationItem(reservation_id=made, product_id=product_id, quantity=quantity)
        )
    db.session.commit()
    return get_reservation(order_id), True


def release(order_id: int) -> Reservation:
    """Cancel: the reserved units are available again. Releasing twice changes nothing."""
    return _settle(order_id, "released", current_caller().id)


def commit(order_id: int) -> Reservation:
    """Ship: the units leave on hand and reserved together, and the ledger records a `sale`.
    Committing twice changes nothing."""
    return _settle(order_id, "committed", current_caller().id)


def adjust(order_id: int, items: list[dict]) -> Reservation:
    """An edited pending order: the reservation's lines become `items` in one transaction (the
    old quantities given back and the new ones taken under the same row locks), or nothing
    changes (409 with `short`). Setting the same lines twice changes nothing more."""
    reservation = get_reservation(order_id, lock=True)
    if reservation.status != "reserved":
        db.session.rollback()
        raise Conflict(f"Order {order_id}'s reservation is already {reservation.status}")
    wanted: dict[int, int] = defaultdict(int)
    for item in items:
        wanted[item["product_id"]] += item["quantity"]
    held = {item.product_id: item.quantity for item in reservation.items}
    stocks = _locked_in_order(set(wanted) | set(held))
    short = [
        {
            "product_id": product_id,
            "requested": quantity,
            "available": stocks[product_id].available + held.get(product_id, 0)
            if product_id in stocks
            else 0,
        }
        for product_id, quantity in sorted(wanted.items())
        if product_id not in stocks
        or stocks[product_id].on_hand - stocks[product_id].reserved + held.get(product_id, 0)
        < quantity
    ]
    if short:
        db.session.rollback()
        _shortage(short)
    for product_id in sorted(set(wanted) | set(held)):
        delta = wanted.get(product_id, 0) - held.get(product_id, 0)
        stock = stocks.get(product_id)
        if delta == 0 or stock is None:
            continue
        stock.reserved += delta
        _changed(stock)
    for item in list(reservation.items):
        reservation.items.remove(item)
    db.session.flush()
    for product_id, quantity in sorted(wanted.items()):
        reservation.items.append(ReservationItem(product_id=product_id, quantity=quantity))
    reservation.updated_at = utcnow()
    db.session.commit()
    return get_reservation(order_id)


def _shortage(short: list[dict]):
    names = ", ".join(str(line["product_id"]) for line in short)
    raise Conflict(
        f"Not enough stock for products {names}",
        errors={
            "items": [
                f"Product {line['product_id']}: {line['requested']} requested, "
                f"{line['available']} available"
                for line in short
            ]
        },
        extra={"short": short},
    )


def _settle(order_id: int, outcome: str, by: int | None) -> Reservation:
    reservation = get_reservation(order_id, lock=True)
    if reservation.status == outcome:
        db.session.rollback()
        return reservation
    if reservation.status != "reserved":
        db.session.rollback()
        raise Conflict(f"Order {order_id}'s reservation is already {reservation.status}")
    stocks = _locked_in_order(item.product_id for item in reservation.items)
    for item in reservation.items:
        # A product deleted since has no row, and nothing left to give back.
        stock = stocks.get(item.product_id)
        if stock is None:
            continue
        stock.reserved -= item.quantity
        if outcome == "committed":
            stock.on_hand -= item.quantity
            _record(stock, -item.quantity, "sale", f"order {order_id}", by)
        _changed(stock)
    reservation.status = outcome
    reservation.updated_at = utcnow()
    db.session.commit()
    return reservation


def _release_unsettled(order_id: int) -> None:
    """Inside an event's transaction (the receiver commits): give back what a reservation
    still holds; none, or one already settled, is nothing to do."""
    reservation = db.session.scalar(
        select(Reservation)
        .where(Reservation.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reservation is None or reservation.status != "reserved":
        return
    stocks = _locked_in_order(item.product_id for item in reservation.items)
    for item in reservation.items:
        stock = stocks.get(item.product_id)
        if stock is not None:
            stock.reserved -= item.quantity
            _changed(stock)
    reservation.status = "released"
    reservation.updated_at = utcnow()


# --- events ---


def on_product_created(data: dict) -> None:
    """`product.created` {product_id, initial_stock}: the product's stock row, once. The kit's
    inbox already skips a redelivered event; ON CONFLICT DO NOTHING also keeps a second event for
    the same product (a re-import) from adding its stock again."""
    product_id, initial = int(data["product_id"]), max(0, int(data.get("initial_stock") or 0))
    created = db.session.execute(
        insert(Stock)
        .values(product_id=product_id, on_hand=initial)
        .on_conflict_do_nothing(index_elements=[Stock.product_id])
        .returning(Stock.product_id)
    ).scalar()
    if created is None:
        return
    stock = _locked(product_id)
    if initial:
        _record(stock, initial, "receipt", "initial stock", None)
    _changed(stock)


def on_order_abandoned(data: dict) -> None:
    """`order.abandoned` {order_id}: orders gave up on an order that never became pending (a
    dependency failed mid-creation); whatever its reservation holds goes back."""
    _release_unsettled(int(data["order_id"]))


def on_product_deleted(data: dict) -> None:
    """`product.deleted` {product_id}: its stock row and every holding of it go (the ledger
    stays: it is history)."""
    product_id = int(data["product_id"])
    db.session.execute(delete(Stock).where(Stock.product_id == product_id))
    db.session.execute(delete(Holding).where(Holding.product_id == product_id))
