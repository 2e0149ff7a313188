"""What orders knows of clients, addresses and products: a read model their services' events keep,
read in orders' own database when an order is placed, so the reservation is the one call it makes.

- clients' `client.created`, `client.deleted` and `address.created/updated/deleted`, products'
  `product.created/updated/deleted`, each handled once (the kit's inbox). An event carries the
  producer's version of the row: an older one arriving late, or twice, changes nothing.
- A deletion is final (ids are never reused): the row stays as a tombstone, and the id is refused
  from then on, whatever event comes later.
- An id the model does not hold (it existed before the model did, or its event is still on its
  way) is read over HTTP, once per kind for the order, and stored. An id the producer does not
  know is refused and not stored: it may exist later.

So the model lags the producer by the relay's delivery (it polls every 0.25 s, and retries a
subscriber that did not answer with a backoff of up to a minute): a product's new price, or its
deactivation, applies to every order placed once its `product.updated` is delivered.
"""

from __future__ import annotations

import functools
import logging

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert

from services.kit import Unavailable, service
from services.kit.fields import event_amount, event_instant

from .events import cancel_for
from .models import KnownAddress, KnownClient, KnownProduct, Order, db

log = logging.getLogger("feira.orders")

OPEN = ("pending", "paid", "shipped")
# Orders that will still ship to their address as it reads when they leave ("reserving": one
# being placed).
UNSHIPPED = ("reserving", "pending", "paid")

# --- what the events say ---


def on_client_created(data: dict) -> None:
    """`client.created` {client_id}: the client exists (unless a deletion came first)."""
    db.session.connection().execute(_KNOW_CLIENT, {"id": int(data["client_id"])})


def on_client_deleted(data: dict) -> None:
    """`client.deleted` {client_id}: no order may name it from now on, and its open orders are
    cancelled. Clients refuses to delete a client with open orders, but it asks orders before it
    deletes, and orders takes the client's orders until this event arrives: the ones placed in
    between (and one whose stock is being reserved now: the tombstone waits for its share lock,
    orders.py), and paid meanwhile (a card pays within seconds), would otherwise outlive their
    client, their stock held: pending and paid ones are cancelled (a paid one's `order.cancelled`
    says so, and payments refunds it). A shipped one is on its way, its stock gone as a sale; no
    step cancels it (the machine takes it only to delivered) and a refund would pay back goods
    the client receives: it is left to be delivered, and logged as an error for an admin."""
    client_id = int(data["client_id"])
    _bury(KnownClient, client_id)
    # The addresses its orders shipped to are the client's personal data: they go with it.
    db.session.execute(
        update(Order)
        .where(Order.client_id == client_id, Order.shipped_to.is_not(None))
        .values(shipped_to=None)
    )
    open_orders = db.session.scalars(
        select(Order)
        .where(Order.client_id == client_id, Order.status.in_(OPEN))
        .order_by(Order.id)
        .with_for_update()
    ).all()
    to_cancel = [order for order in open_orders if order.status != "shipped"]
    if to_cancel:
        log.warning(
            "client %s was deleted with open orders placed meanwhile: cancelling %s",
            client_id,
            ", ".join(f"{order.id} ({order.status})" for order in to_cancel),
        )
    for order in to_cancel:
        cancel_for(order, "clients", "client deleted")
    shipped = [order.id for order in open_orders if order.status == "shipped"]
    if shipped:
        log.error(
            "client %s was deleted with orders already shipped, left to be delivered: %s",
            client_id,
            ", ".join(map(str, shipped)),
        )


def client_deleted(client_id: int) -> bool:
    """Whether the read model holds the client's tombstone."""
    return bool(db.session.scalar(select(KnownClient.deleted).where(KnownClient.id == client_id)))


def on_address_saved(data: dict) -> None:
    """`address.created` and `address.updated` {address_id, client_id, state, version}. An order
    not yet shipped to the address will ship to it as it now reads: it takes the UF the model
    holds after this event (not the event's own, which may be older than the one held)."""
    address_id, client_id = int(data["address_id"]), int(data["client_id"])
    _save(
        KnownAddress,
        {
            "id": address_id,
            "client_id": client_id,
            "state": str(data["state"])[:2],
            "version": event_instant(data["version"]),
        },
    )
    db.session.execute(
        update(Order)
        .where(
            Order.client_id == client_id,
            Order.shipping_address_id == address_id,
            Order.status.in_(UNSHIPPED),
            Order.shipping_state.is_distinct_from(shipping_state(address_id)),
        )
        .values(shipping_state=shipping_state(address_id))
        .execution_options(synchronize_session=False)
    )


def on_address_deleted(data: dict) -> None:
    """`address.deleted` {address_id, client_id}: no order may ship to it from now on. Clients
    refuses to delete an address open orders ship to, but it asks orders before it deletes, and
    orders takes orders to it until this event arrives: one placed (or given it) in between has
    nowhere to ship. Its client is still there to be asked for another address, so it is not
    cancelled: it is logged as an error for an admin, by ids only (an address is personal data).
    The client_id narrows the search to the orders' client_id index: an order only ships to an
    address of its own client (client_problems)."""
    address_id, client_id = int(data["address_id"]), int(data["client_id"])
    _bury(KnownAddress, address_id)
    stranded = db.session.scalars(
        select(Order.id)
        .where(
            Order.client_id == client_id,
            Order.shipping_address_id == address_id,
            Order.status.in_(OPEN),
        )
        .order_by(Order.id)
    ).all()
    if stranded:
        log_stranded(address_id, client_id, stranded)


def log_stranded(address_id: int, client_id: int, order_ids) -> None:
    """Open orders that ship to a deleted address, for an admin: by ids only. Those open when
    `address.deleted` is taken, and one whose placing ends after it (orders.py: its address is
    share-locked as it becomes pending, so one of the two always sees the other)."""
    log.error(
        "address %s of client %s was deleted while open orders ship to it: %s",
        address_id,
        client_id,
        ", ".join(map(str, order_ids)),
    )


def on_product_saved(data: dict) -> None:
    """`product.created` and `product.updated` {product_id, name, price, category_id, active,
    updated_at}: `updated_at` is the product's version."""
    _save(
        KnownProduct,
        {
            "id": int(data["product_id"]),
            "name": str(data["name"])[:200],
            "price": event_amount(data["price"]),
            "category_id": None if data["category_id"] is None else int(data["category_id"]),
            "active": bool(data["active"]),
            "version": event_instant(data["updated_at"]),
        },
    )


def on_product_deleted(data: dict) -> None:
    """`product.deleted` {product_id}: never sold again, whatever arrives after."""
    _bury(KnownProduct, int(data["product_id"]))


def _save(model, values: dict) -> None:
    """Insert the row, or replace it only with a newer version: never a tombstone, never with a
    version older than (or as old as) the one held. A row stored without a version (read over
    HTTP) gives way to any event; one without a version never replaces a row."""
    db.session.connection().execute(_upsert(model, tuple(values)), values)


def _bury(model, id_: int) -> None:
    db.session.connection().execute(_tombstone(model), {"id": id_})


# Every event runs one of these: built once (per model and set of columns) and bound per call,
# as building and compiling a statement costs more than PostgreSQL's work on it.
_KNOW_CLIENT = insert(KnownClient).values(id=bindparam("id")).on_conflict_do_nothing()


@functools.cache
def _upsert(model, names: tuple[str, ...]):
    stmt = insert(model).values({name: bindparam(name) for name in names})
    return stmt.on_conflict_do_update(
        index_elements=[model.id],
        set_={name: stmt.excluded[name] for name in names if name != "id"},
        where=~model.deleted & (model.version.is_(None) | (model.version < stmt.excluded.version)),
    )


@functools.cache
def _tombstone(model):
    stmt = insert(model).values(id=bindparam("id"), deleted=True)
    return stmt.on_conflict_do_update(index_elements=[model.id], set_={"deleted": True})


# --- what placing an order asks ---


# Asked by every order: built once, run on the session's connection (see orders.py).
_CLIENT_AND_ADDRESS = select(
    select(KnownClient.deleted).where(KnownClient.id == bindparam("client_id")).scalar_subquery(),
    select(KnownAddress.client_id)
    .where(KnownAddress.id == bindparam("address_id"))
    .scalar_subquery(),
    select(KnownAddress.deleted)
    .where(KnownAddress.id == bindparam("address_id"))
    .scalar_subquery(),
)
_PRODUCTS = select(
    KnownProduct.id,
    KnownProduct.name,
    KnownProduct.price,
    KnownProduct.category_id,
    KnownProduct.active,
    KnownProduct.deleted,
).where(KnownProduct.id.in_(bindparam("ids", expanding=True)))


_HOLD_ADDRESS = (
    select(KnownAddress.id).where(KnownAddress.id == bindparam("id")).with_for_update(read=True)
)


def hold_address(address_id: int) -> None:
    """Share-lock the address in the model until the transaction ends: `address.deleted` being
    taken (on_address_deleted) waits for it and then finds the order given it, or it waits for
    that and reads the address deleted. Taken before the order's own row, in the order the
    events' transactions lock them (an address, then orders)."""
    db.session.connection().execute(_HOLD_ADDRESS, {"id": address_id})


def client_problems(client_id: int, address_id: int | None) -> dict[str, list[str]]:
    """What is wrong with the order's client and address (empty: nothing), from the model in one
    query; what it lacks is read from clients over HTTP and stored."""
    client_deleted, address_owner, address_deleted = (
        db.session.connection()
        .execute(_CLIENT_AND_ADDRESS, {"client_id": client_id, "address_id": address_id})
        .one()
    )
    no_client = {"client_id": [f"Client {client_id} does not exist."]}
    no_address = {"shipping_address_id": [f"Client {client_id} has no address {address_id}."]}
    if client_deleted:
        return no_client
    if address_id is not None and address_deleted:
        return no_address
    if address_id is not None and address_owner is not None and address_owner != client_id:
        return no_address
    if address_id is not None and address_owner is None:
        # Its address read says the client exists too; when it is not found, whose fault it is
        # takes a second read, on this refused order only.
        if _read_address(client_id, address_id):
            return {}
        if client_deleted is None and not _read_client(client_id):
            return no_client
        return no_address
    if client_deleted is None and not _read_client(client_id):
        return no_client
    return {}


def _read_client(client_id: int) -> bool:
    response = service("clients").head(f"/clients/{client_id}")
    if response.status_code == 404:
        return False
    if response.status_code != 200:
        raise Unavailable("The clients service could not say whether the client exists")
    on_client_created({"client_id": client_id})
    return True


def _read_address(client_id: int, address_id: int) -> bool:
    clients = service("clients")
    response = clients.get(f"/clients/{client_id}/addresses/{address_id}")
    if response.status_code == 404:
        return False
    if response.status_code != 200:
        raise Unavailable("The clients service could not say whether the address exists")
    state = clients.read(response, lambda body: str(body["state"]))
    on_client_created({"client_id": client_id})
    _save(KnownAddress, {"id": address_id, "client_id": client_id, "state": state[:2]})
    return True


# What of an address an order keeps as where it shipped.
SHIPPED_TO = ("state", "city", "street", "number", "complement", "cep")


def address_as_shipped(client_id: int, address_id: int) -> dict | None:
    """The address as clients gives it now, for an order shipping to it; None (logged) when
    clients cannot say: the order ships all the same, and shows the address clients gives later.
    Personal data: logged by ids only."""
    clients = service("clients")
    try:
        response = clients.get(f"/clients/{client_id}/addresses/{address_id}")
        if response.status_code == 200:
            return clients.read(
                response, lambda body: {name: body.get(name) for name in SHIPPED_TO}
            )
    except Unavailable:
        response = None
    log.warning(
        "address %s of client %s could not be read as an order ships to it (%s): not kept",
        address_id,
        client_id,
        "clients did not answer" if response is None else response.status_code,
    )
    return None


def shipping_state(address_id):
    """The UF the model holds for the address, as a subquery of the statement that stores the
    address on an order (`address_id` a value or a bind parameter): the order keeps it, so the
    KPIs count the order where it shipped, whatever the address says later. `client_problems`
    has checked the address first, and stored one the model lacked."""
    return select(KnownAddress.state).where(KnownAddress.id == address_id).scalar_subquery()


def products(product_ids, inactive_ok=frozenset()) -> tuple[dict[int, dict], list[str]]:
    """The lines' products as an order copies them (name, price, category_id), and what is wrong
    with the others: from the model in one query, what it lacks from one batch read of products
    over HTTP (stored). A product in `inactive_ok` may be inactive (an edit keeping a line it
    had at no more units); a deleted one never is usable."""
    ids = sorted(product_ids)
    rows = db.session.connection().execute(_PRODUCTS, {"ids": ids}).all()
    found = {
        row.id: {
            "name": row.name,
            "price": row.price,
            "category_id": row.category_id,
            "active": row.active and not row.deleted,
            "exists": not row.deleted,
        }
        for row in rows
    }
    missing = [product_id for product_id in ids if product_id not in found]
    if missing:
        found.update(_read_products(missing))
    usable, problems = {}, []
    for product_id in ids:
        product = found.get(product_id)
        if product is None or not product["exists"]:
            problems.append(f"Product {product_id} does not exist.")
        elif not product["active"] and product_id not in inactive_ok:
            problems.append(f"Product {product_id} is not active.")
        else:
            usable[product_id] = product
    return usable, problems


def _read_products(ids: list[int]) -> dict[int, dict]:
    products_service = service("products")
    response = products_service.get(
        "/products", params={"ids": ",".join(map(str, ids)), "per_page": len(ids)}
    )
    if response.status_code != 200:
        raise Unavailable("The products service could not list the order's products")
    # Stored in id order, as every order stores them, so two orders reading the same products
    # at once take their rows' locks in one order and never deadlock.
    items = products_service.read(
        response, lambda body: sorted(body["items"], key=lambda item: int(item["id"]))
    )
    read = {}
    for item in items:
        try:
            values = {
                "id": int(item["id"]),
                "name": str(item["name"])[:200],
                "price": event_amount(item["price"]),
                "category_id": item.get("category_id"),
                "active": bool(item.get("active", True)),
                "version": event_instant(item["updated_at"]),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise Unavailable("The products service answered a product orders cannot read") from exc
        _save(KnownProduct, values)
        read[values["id"]] = {**values, "exists": True}
    return read
