"""What inventory does with stock: the figures per product, the movement ledger, and the
`stock.changed` event every change announces (reservations, in reservations.py, share them)."""

from __future__ import annotations

import logging

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert

from services.kit import Conflict, NotFound, current_caller, utcnow
from services.kit.idempotency import NO_KEY, Key, NoKey
from services.kit.leader import wait_xact_lock

from .models import DeletedProduct, Holding, Movement, Stock, db, outbox

log = logging.getLogger("feira.inventory")

# A transaction-scoped advisory lock per product (class, product_id), taken alone by
# `product.deleted` and shared by whatever makes something of a product that may have been
# deleted (its stock row, a holding): that is written either wholly before the deletion (which
# then removes it) or after it (and then sees the tombstone and is not written), and two such
# writers never wait for each other (nor deadlock, taking several products in any order).
# holdings.py's clients are class 17030.
PRODUCT_LOCK_CLASS = 17031

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


def ledger(product_id: int):
    """The product's movements, while it has stock and after it is deleted too: the ledger is
    history and outlives the row, so an admin can still see where a deleted product's units went
    (its closing `adjustment` among them). A product inventory never knew (no row, no movement,
    no deletion heard) is a 404."""
    known = db.session.scalar(
        select(
            exists().where(Stock.product_id == product_id)
            | exists().where(DeletedProduct.product_id == product_id)
            | exists().where(Movement.product_id == product_id)
        )
    )
    if not known:
        raise NotFound(f"Product {product_id} is unknown to inventory")
    return select(Movement).where(Movement.product_id == product_id)


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


def locked_in_order(product_ids) -> dict[int, Stock]:
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


def bump_version_and_announce(stock: Stock) -> None:
    """Every change moves the version on and tells products (`stock.changed`) the new available
    figure."""
    stock.version += 1
    stock.updated_at = utcnow()
    announce(stock.product_id, stock.on_hand - stock.reserved, stock.version)


def announce(product_id: int, available: int, version: int) -> None:
    """`stock.changed`: a product's available figure as of its stock row's `version`."""
    outbox.emit(
        "stock.changed",
        {"product_id": product_id, "available": available, "version": version},
    )


def record_movement(stock: Stock, quantity: int, reason: str, note: str | None, by: int | None):
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


def move_stock(product_id: int, data: dict, key: Key | NoKey = NO_KEY) -> Movement:
    """A receipt, adjustment, return or damage: on_hand changes by a signed quantity, never to
    below what is reserved (409). An Idempotency-Key is bound to the movement and answered in
    the transaction that records it."""
    stock = _locked(product_id)
    after = stock.on_hand + data["quantity"]
    if after < stock.reserved:
        raise Conflict(
            f"The movement would leave {after} on hand for product {product_id}, "
            f"below the {stock.reserved} reserved"
        )
    stock.on_hand = after
    movement = record_movement(
        stock, data["quantity"], data["reason"], data["note"], current_caller().id
    )
    bump_version_and_announce(stock)
    db.session.flush()
    key.answer(movement)
    db.session.commit()
    return movement


def set_reorder_level(product_id: int, reorder_level: int) -> Stock:
    stock = _locked(product_id)
    stock.reorder_level = reorder_level
    bump_version_and_announce(stock)
    db.session.commit()
    db.session.refresh(stock)
    return stock


# --- products deleted ---


def still_a_product(product_id: int) -> bool:
    """Whether `product.deleted` has not been heard for the product, the product's lock held
    until the transaction ends (so the deletion cannot be processed before what follows is
    written). Whoever also takes a client's lock (holdings) takes it first."""
    wait_xact_lock(db.session, PRODUCT_LOCK_CLASS, product_id, shared=True)
    return db.session.get(DeletedProduct, product_id) is None


# --- events ---


def on_product_created(data: dict) -> None:
    """`product.created` {product_id, initial_stock}: the product's stock row, once. The kit's
    inbox already skips a redelivered event; ON CONFLICT DO NOTHING also keeps a second event for
    the same product (a re-import) from adding its stock again. Each delivery is retried on its
    own, so this one may come after the product's `product.deleted`: it is then acknowledged and
    makes nothing (a row made now would list stock of a product that no longer exists)."""
    product_id, initial = int(data["product_id"]), max(0, int(data.get("initial_stock") or 0))
    if not still_a_product(product_id):
        log.info("product.created for product %s, already deleted: ignored", product_id)
        return
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
        record_movement(stock, initial, "receipt", "initial stock", None)
    bump_version_and_announce(stock)


def on_product_deleted(data: dict) -> None:
    """`product.deleted` {product_id}: its stock row and every holding of it go (the ledger
    stays: it is history), and the product is remembered as deleted, so neither is made for it
    afterwards. products deletes only what inventory said had none on hand, but a receipt can
    land between that answer and this event: what is still on hand leaves through a closing
    `adjustment`, so the ledger sums to the zero left and no unit vanishes unrecorded."""
    product_id = int(data["product_id"])
    wait_xact_lock(db.session, PRODUCT_LOCK_CLASS, product_id, shared=False)
    db.session.execute(
        insert(DeletedProduct)
        .values(product_id=product_id)
        .on_conflict_do_nothing(index_elements=[DeletedProduct.product_id])
    )
    stock = db.session.get(Stock, product_id, with_for_update=True, populate_existing=True)
    if stock is not None:
        closing = stock.on_hand
        if closing:
            stock.on_hand = stock.reserved = 0
            record_movement(stock, -closing, "adjustment", "product deleted", None)
        db.session.delete(stock)
    db.session.execute(delete(Holding).where(Holding.product_id == product_id))
