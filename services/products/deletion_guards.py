"""Who may veto deleting a product: each service that owns a fact about it (stock on hand, orders
that reference it) is asked over HTTP, with the caller's token, before anything is deleted.

A guard is consulted only when its service is configured (`<NAME>_URL`, which the stack sets for
the services that exist), so inventory and orders plug in by being deployed. A guard answers why
the product must stay, or None; a service that cannot answer is a 503 and nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
from flask import current_app

from services.kit import Unavailable, service


def stock_on_hand(product_id: int) -> str | None:
    """Inventory's `GET /inventory/stock/{product_id}`: 404 means it never had stock."""
    response = service("inventory").get(f"/inventory/stock/{product_id}")
    if response.status_code == 404:
        return None
    on_hand = _read(response, "inventory", lambda body: int(body.get("on_hand", 0)))
    return f"{on_hand} units are on hand in inventory" if on_hand > 0 else None


def referenced_by_orders(product_id: int) -> str | None:
    """Orders' `GET /orders?product_id=…`: any order, whatever its status, keeps the product."""
    response = service("orders").get("/orders", params={"product_id": product_id, "per_page": 1})
    total = _read(response, "orders", lambda body: int(body.get("total", 0)))
    return f"{total} orders reference it" if total > 0 else None


DELETION_GUARDS: dict[str, Callable[[int], str | None]] = {
    "inventory": stock_on_hand,
    "orders": referenced_by_orders,
}


def deletion_blockers(product_id: int) -> list[str]:
    """Every configured guard's reason to keep the product (empty: it may go)."""
    configured = current_app.config["SERVICE_URLS"]
    reasons = []
    for name, guard in DELETION_GUARDS.items():
        if name in configured:
            reason = guard(product_id)
            if reason:
                reasons.append(reason)
    return reasons


def _read(response: requests.Response, name: str, read: Callable[[dict], int]) -> int:
    if response.status_code != 200:
        raise Unavailable(f"The {name} service could not say whether the product may go")
    return service(name).read(response, read)
