"""The reservations orders make for their orders: all lines or none, idempotent by order id,
changed atomically, then released (cancelled) or committed (shipped); and `order.abandoned`."""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert

from services.kit import Conflict, NotFound, current_caller, utcnow
from services.kit.db import read_in_one_snapshot

from .models import Reservation, ReservationItem, Stock, db
from .stock import announce, bump_version_and_announce, locked_in_order, record_movement

log = logging.getLogger("feira.inventory")

# Every order runs these: built once, bound per call, run on the session's connection.
_RESERVE = (
    insert(Reservation)
    .values(order_id=bindparam("order"))
    .on_conflict_do_nothing(constraint="uq_reservations_order_id")
    .returning(Reservation.id, Reservation.status, Reservation.created_at)
)
_TAKE = (
    update(Stock)
    .where(
        Stock.product_id == bindparam("product"),
        Stock.on_hand - Stock.reserved >= bindparam("units"),
    )
    .values(
        reserved=Stock.reserved + bindparam("units"),
        version=Stock.version + 1,
        updated_at=func.now(),
    )
    .returning((Stock.on_hand - Stock.reserved).label("available"), Stock.version)
)
_LINES = insert(ReservationItem)
# An order abandoned before it reserved: a reservation already released, with no lines, under the
# same unique order_id `_RESERVE` writes, so the two take turns and whichever comes second finds
# the other's row.
_TOMBSTONE = (
    insert(Reservation)
    .values(order_id=bindparam("order"), status="released")
    .on_conflict_do_nothing(constraint="uq_reservations_order_id")
    .returning(Reservation.id)
)


def get_reservation(order_id: int, *, lock: bool = False) -> Reservation:
    stmt = select(Reservation).where(Reservation.order_id == order_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    reservation = db.session.scalar(stmt)
    if reservation is None:
        raise NotFound(f"Order {order_id} has no reservation")
    return reservation


def read_reservation(order_id: int) -> Reservation:
    """A reservation as the API shows it. Its row and its lines are two SELECTs
    (`lazy="selectin"`), read from one snapshot: else an edit or a release committed between
    them would answer its lines beside the other state's status and `updated_at`. What a
    change answers is read so too, after its own transaction ended."""
    read_in_one_snapshot(db)
    return get_reservation(order_id)


def reserve(order_id: int, items: list[dict]) -> tuple[Reservation | dict, bool]:
    """All lines or none. Idempotent by order_id: answers the reservation and whether this call
    made it. The unique order_id decides between two calls at once: the second waits for the
    first's transaction, then finds its reservation (or, if the first was refused, its own). An
    order whose `order.abandoned` came first finds the released reservation with no lines that
    the event left, and so is answered `released` (orders then abandons it) with nothing taken.

    The hot path of every order, so a few plain statements: the reservation row; per line, in
    product_id order (two orders lock shared rows in one order), one UPDATE that takes the units
    only if they are there (PostgreSQL re-checks that condition on the row it waited for, and the
    table's CHECK would refuse an oversell anyway); the lines; the announcements; one commit. The
    answer is built from what was written, with no read back."""
    wanted: dict[int, int] = defaultdict(int)
    for item in items:
        wanted[item["product_id"]] += item["quantity"]
    connection = db.session.connection()
    made = connection.execute(_RESERVE, {"order": order_id}).first()
    if made is None:
        db.session.rollback()
        return read_reservation(order_id), False
    for product_id, quantity in sorted(wanted.items()):
        taken = connection.execute(_TAKE, {"product": product_id, "units": quantity}).first()
        if taken is None:
            db.session.rollback()
            _shortage(_short_lines(wanted, product_id))
        announce(product_id, taken.available, taken.version)
    lines = [{"product_id": p, "quantity": q} for p, q in sorted(wanted.items())]
    connection.execute(_LINES, [{"reservation_id": made.id, **line} for line in lines])
    db.session.commit()
    return {
        "order_id": order_id,
        "items": lines,
        "status": made.status,
        "created_at": made.created_at,
        "updated_at": made.created_at,
    }, True


def _short_lines(wanted: dict[int, int], refused: int) -> list[dict]:
    """The lines stock cannot cover now, for a refusal's `short` (read after the rollback), and
    always the line that was refused, even if another order has given units back since."""
    available = dict(
        db.session.execute(
            select(Stock.product_id, Stock.available).where(Stock.product_id.in_(wanted))
        ).all()
    )
    db.session.rollback()
    return [
        {"product_id": product_id, "requested": quantity, "available": available.get(product_id, 0)}
        for product_id, quantity in sorted(wanted.items())
        if available.get(product_id, 0) < quantity or product_id == refused
    ]


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
    stocks = locked_in_order(set(wanted) | set(held))
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
        bump_version_and_announce(stock)
    for item in list(reservation.items):
        reservation.items.remove(item)
    db.session.flush()
    for product_id, quantity in sorted(wanted.items()):
        reservation.items.append(ReservationItem(product_id=product_id, quantity=quantity))
    reservation.updated_at = utcnow()
    db.session.commit()
    return read_reservation(order_id)


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
        return read_reservation(order_id)
    if reservation.status != "reserved":
        db.session.rollback()
        raise Conflict(f"Order {order_id}'s reservation is already {reservation.status}")
    stocks = locked_in_order(item.product_id for item in reservation.items)
    for item in reservation.items:
        # A product deleted since has no row, and nothing left to give back.
        stock = stocks.get(item.product_id)
        if stock is None:
            continue
        stock.reserved -= item.quantity
        if outcome == "committed":
            stock.on_hand -= item.quantity
            record_movement(stock, -item.quantity, "sale", f"order {order_id}", by)
        bump_version_and_announce(stock)
    reservation.status = outcome
    reservation.updated_at = utcnow()
    db.session.commit()
    return read_reservation(order_id)


def _release_unsettled(order_id: int) -> None:
    """Inside an event's transaction (the receiver commits): give back what a reservation
    still holds; one already settled is nothing to do. None yet (the order's reserve still to
    come, a retry resuming it, or its insert not committed) leaves a released reservation with no
    lines, so that reserve makes nothing; a reserve in progress is waited for, then released."""
    if db.session.connection().execute(_TOMBSTONE, {"order": order_id}).first() is not None:
        log.info("order %s abandoned before it reserved: its reservation is released", order_id)
        return
    reservation = db.session.scalar(
        select(Reservation)
        .where(Reservation.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reservation.status != "reserved":
        return
    stocks = locked_in_order(item.product_id for item in reservation.items)
    for item in reservation.items:
        stock = stocks.get(item.product_id)
        if stock is not None:
            stock.reserved -= item.quantity
            bump_version_and_announce(stock)
    reservation.status = "released"
    reservation.updated_at = utcnow()


# --- events ---


def on_order_abandoned(data: dict) -> None:
    """`order.abandoned` {order_id}: orders gave up on an order (a dependency failed
    mid-creation, a release whose answer was lost); whatever its reservation holds goes back, and
    one not made yet never will be."""
    _release_unsettled(int(data["order_id"]))
