"""Who may veto deleting a client or an address: orders, while the client has open orders, or open
orders ship to the address. Asked over HTTP with the caller's token, only when orders is
configured (`ORDERS_URL`); an orders service that cannot answer is a 503 and nothing is
deleted."""

from __future__ import annotations

from flask import current_app

from services.kit import Conflict, Unavailable, service

OPEN = ("pending", "paid", "shipped")


def ensure_no_open_orders(client_id: int) -> None:
    total = _open_orders(
        {"client_id": client_id},
        "The orders service could not say whether the client has open orders",
    )
    if total > 0:
        orders = "order" if total == 1 else "orders"
        raise Conflict(
            f"Client {client_id} has {total} open (pending, paid or shipped) {orders}",
            errors={"client_id": ["The client has open orders."]},
        )


def ensure_no_open_order_ships_to(client_id: int, address_id: int) -> None:
    """Deleting the client itself asks `ensure_no_open_orders`, which covers its addresses too.
    The client_id is sent along: it is what orders finds a client's orders by (an index), and an
    order only ever ships to an address of its own client."""
    total = _open_orders(
        {"client_id": client_id, "shipping_address_id": address_id},
        "The orders service could not say whether open orders ship to the address",
    )
    if total > 0:
        orders = "order" if total == 1 else "orders"
        raise Conflict(
            f"Address {address_id} is the shipping address of {total} open "
            f"(pending, paid or shipped) {orders}",
            errors={"address_id": ["Open orders ship to this address."]},
        )


def _open_orders(filters: dict, detail: str) -> int:
    """How many open orders match `filters` (0 when orders is not configured); `detail` is the
    503's when orders cannot answer."""
    if "orders" not in current_app.config["SERVICE_URLS"]:
        return 0
    response = service("orders").get(
        "/orders", params={**filters, "status": ",".join(OPEN), "per_page": 1}
    )
    if response.status_code != 200:
        raise Unavailable(detail)
    return service("orders").read(response, lambda body: int(body["total"]))
