"""What clients have acquired: written once the clients and products services confirm both exist
(the product's name copied then), and forgotten when either announces a deletion."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from services.kit import NotFound, Unavailable, paginate, service
from services.kit.idempotency import NO_KEY, Key, NoKey
from services.kit.leader import wait_xact_lock

from .models import DeletedClient, Holding, db
from .stock import still_a_product

log = logging.getLogger("feira.inventory")

# A transaction-scoped advisory lock per client (class, client_id), shared by whatever writes a
# client's holdings and taken alone by `client.deleted`: a holding is written either wholly
# before the deletion (which then removes it) or after it (and then sees the tombstone and is not
# written), and two writers of a client's holdings never wait for each other.
CLIENT_LOCK_CLASS = 17030


def list_holdings(client_id: int, args: dict) -> dict:
    """Read locally: a client deleted a moment ago (its event on the way) still lists its holdings
    until the event lands, and an unknown client simply has none."""
    stmt = select(Holding).where(Holding.client_id == client_id)
    return paginate(db, stmt, args, {"acquired_at": Holding.acquired_at}, Holding.id)


def get_holding(holding_id: int) -> Holding:
    holding = db.session.get(Holding, holding_id)
    if holding is None:
        raise NotFound(f"Holding {holding_id} does not exist")
    return holding


def add_holding(client_id: int, data: dict, key: Key | NoKey = NO_KEY) -> Holding:
    """Both owners are asked (with the caller's token) before anything is written; the 404 names
    every one that is missing, and a service that cannot answer is a 503. A client or product
    its service still knows but whose deletion inventory has heard (the event came in between)
    is missing too: checked under its lock (the client's first), in the transaction that writes
    the holding. An Idempotency-Key is bound and answered in that transaction too, so a key's
    answer exists exactly when its holding was written."""
    client_exists = _client_exists(client_id)
    product = _product(data["product_id"])
    missing: dict[str, list[str]] = {}
    if not (client_exists and _still_a_client(client_id)):
        missing["client_id"] = [f"Client {client_id} does not exist."]
    if product is None or not still_a_product(data["product_id"]):
        missing["product_id"] = [f"Product {data['product_id']} does not exist."]
    if missing:
        raise NotFound(" ".join(message for [message] in missing.values()), errors=missing)
    holding = Holding(
        client_id=client_id,
        product_id=data["product_id"],
        product_name=product["name"],
        quantity=data["quantity"],
    )
    db.session.add(holding)
    db.session.flush()
    key.answer(holding)
    db.session.commit()
    return holding


def _still_a_client(client_id: int) -> bool:
    """Whether `client.deleted` has not been heard for the client, the client's lock held until
    the transaction ends (so the deletion cannot be processed before what follows is written)."""
    wait_xact_lock(db.session, CLIENT_LOCK_CLASS, client_id, shared=True)
    return db.session.get(DeletedClient, client_id) is None


def _client_exists(client_id: int) -> bool:
    response = service("clients").head(f"/clients/{client_id}")
    if response.status_code not in (200, 404):
        raise Unavailable("The clients service could not say whether the client exists")
    return response.status_code == 200


def _product(product_id: int) -> dict | None:
    response = service("products").get(f"/products/{product_id}")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise Unavailable("The products service could not say whether the product exists")
    return service("products").read(response, lambda body: {"name": str(body["name"])})


def remove_holding(holding: Holding) -> None:
    db.session.delete(holding)
    db.session.commit()


def on_client_deleted(data: dict) -> None:
    """`client.deleted` {client_id}: the client's holdings go and the client is remembered as
    deleted, so none are written for it afterwards (the receiver commits)."""
    client_id = int(data["client_id"])
    wait_xact_lock(db.session, CLIENT_LOCK_CLASS, client_id, shared=False)
    db.session.execute(
        insert(DeletedClient)
        .values(client_id=client_id)
        .on_conflict_do_nothing(index_elements=[DeletedClient.client_id])
    )
    db.session.execute(delete(Holding).where(Holding.client_id == client_id))


def on_order_delivered(data: dict) -> None:
    """`order.delivered` {order_id, client_id, items: [{product_id, product_name, quantity}]}: the
    client now holds what the order brought (the names as the order copied them). The kit's inbox
    makes a redelivery a no-op; the receiver commits. A client whose `client.deleted` came first
    (the two relays are independent) gets none, and a product whose `product.deleted` came first
    is not held (an order placed while the deletion was on its way: products' guard saw none)."""
    client_id = int(data["client_id"])
    lines = [
        (int(item["product_id"]), str(item["product_name"]), int(item["quantity"]))
        for item in data["items"]
    ]
    if not _still_a_client(client_id):
        return
    deleted = {p for p in sorted({line[0] for line in lines}) if not still_a_product(p)}
    if deleted:
        log.info(
            "order %s delivered products %s, already deleted: not held",
            data.get("order_id"),
            sorted(deleted),
        )
    for product_id, product_name, quantity in lines:
        if product_id in deleted:
            continue
        db.session.add(
            Holding(
                client_id=client_id,
                product_id=product_id,
                product_name=product_name[:200],
                quantity=quantity,
            )
        )
