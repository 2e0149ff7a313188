"""Who may veto deleting a client: orders, while the client has open orders. Asked over HTTP with
the caller's token, only when orders is configured (`ORDERS_URL`); an orders service that cannot
answer is a 503 and nothing is deleted."""

from __future__ import annotations

from flask import current_app

from services.kit import Conflict, Unavailable, service

OPEN = ("pending", "paid", "shipped")


def ensure_no_open_orders(client_id: int) -> None:
    if "orders" not in current_app.config["SERVICE_URLS"]:
        return
    response = service("orders").get(
        "/orders", params={"client_id": client_id, "status": ",".join(OPEN), "per_page": 1}
    )
    if response.status_code != 200:
        raise Unavailable("The orders service could not say whether the client has open orders")
    total = service("orders").read(response, lambda body: int(body["total"]))
    if total > 0:
        raise Conflict(
            f"Client {client_id} has {total} open (pending, paid or shipped) orders",
            errors={"client_id": ["The client has open orders."]},
        )
