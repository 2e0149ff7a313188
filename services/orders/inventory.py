"""Orders' one client for inventory's reservations: a function per call, whose errors mean the same
at every call site.

- Inventory's 409 (stock is short: `short` names the lines; or the reservation is no longer
  `reserved`) and its 404 (it holds no reservation for the order) are the client's `Conflict`:
  retrying cannot change either, so neither is ever a 503. The exceptions are `state`, whose
  answer None says there is none, and `release`, whose goal (the order holds no stock) a
  missing reservation already meets.
- Inventory down, failing (5xx), or answering anything else or anything unreadable is
  `Unavailable`: the client may retry. When the call may have reached inventory and been
  carried out without this side hearing of it (its answer too late or lost, a 5xx), it is
  `Unanswered`, an `Unavailable` a caller that must know acts on: an edit puts the old lines
  back (orders.py). A connection inventory refused, or that could not be made, is a plain
  `Unavailable`: it heard nothing.

Each returns the reservation's state as inventory answers it: reserved, released or committed;
`held` its lines.
"""

from __future__ import annotations

import logging

import requests
from urllib3.exceptions import ConnectTimeoutError

from services.kit import Conflict, Unavailable, service

log = logging.getLogger("feira.orders")


class Unanswered(Unavailable):
    """Inventory may have done what it was asked: the call may have reached it, and no answer
    came (too late, the connection dropped, or a 5xx)."""


def reserve(order_id: int, lines: dict[int, int]) -> str:
    """Every line or none, under the order's id. Idempotent by that id: a repeat answers the
    reservation the first call made, in whatever state it is in now."""
    # With orders' credential alone: inventory records no user on a reservation. Idempotent by
    # the order's id, so a connection dropped before the answer is sent again, not a 503.
    response = _call(
        "POST",
        "/inventory/reservations",
        json={"order_id": order_id, "items": _items(lines)},
        forward_auth=False,
        idempotent=True,
    )
    return _state(response, 201, order_id, "place the order")


def state(order_id: int, action: str) -> str | None:
    """The reservation's state now (reserved, released or committed); None when inventory holds
    no reservation for the order."""
    response = _call("GET", f"/inventory/reservations/{order_id}")
    if response.status_code == 404:
        return None
    return _state(response, 200, order_id, action)


def held(order_id: int, action: str) -> dict[int, int]:
    """The lines the reservation holds now, {product_id: quantity}, whatever its state."""
    response = _call("GET", f"/inventory/reservations/{order_id}")
    _refusal(response, 200, order_id, action)
    return service("inventory").read(
        response,
        lambda body: {int(item["product_id"]): int(item["quantity"]) for item in body["items"]},
    )


def replace(
    order_id: int, lines: dict[int, int], action: str = "change the order", *, as_user=True
) -> str:
    """The reservation's lines become `lines` in one inventory transaction, or nothing changes.
    Inventory takes orders' credential alone; the user's token goes along when there is one (an
    inventory older than that wants it: a rolling deploy), and the sweeper has none."""
    response = _call(
        "PUT",
        f"/inventory/reservations/{order_id}",
        json={"items": _items(lines)},
        forward_auth=as_user,
    )
    return _state(response, 200, order_id, action)


def release(order_id: int) -> str:
    """The reserved units are available again; releasing twice changes nothing, and an order
    inventory holds nothing for has nothing to release."""
    response = _call("POST", f"/inventory/reservations/{order_id}/release", idempotent=True)
    if response.status_code == 404:
        log.warning("order %s: inventory holds no reservation to release", order_id)
        return "released"
    return _state(response, 200, order_id, f"release order {order_id}'s stock")


def commit(order_id: int) -> str:
    """The reserved units leave on hand (the order ships); committing twice changes nothing."""
    response = _call("POST", f"/inventory/reservations/{order_id}/commit", idempotent=True)
    return _state(response, 200, order_id, f"commit order {order_id}'s stock")


def _call(method: str, path: str, **kwargs):
    """Inventory's answer; `Unanswered` unless the kit gave up before inventory could hear."""
    try:
        return service("inventory").request(method, path, **kwargs)
    except Unavailable as error:
        if _never_heard(error):
            raise
        raise Unanswered(error.detail) from error


def _never_heard(error: Unavailable) -> bool:
    """The kit's last attempt found no connection: refused, or not made in time (urllib3's
    NewConnectionError is a ConnectTimeoutError). An earlier attempt the kit retried after
    sending it (a read timeout, then inventory restarting) reads as never heard too: a narrow
    window, where the 503 may say nothing changed after inventory did its part."""
    cause = error.__cause__
    if not isinstance(cause, requests.ConnectionError) or not cause.args:
        return False
    reason = getattr(cause.args[0], "reason", cause.args[0])
    return isinstance(reason, ConnectTimeoutError)


def _items(lines: dict[int, int]) -> list[dict]:
    return [{"product_id": p, "quantity": q} for p, q in sorted(lines.items())]


def _state(response, expected: int, order_id: int, action: str) -> str:
    _refusal(response, expected, order_id, action)
    return service("inventory").read(response, lambda body: str(body["status"]))


def _refusal(response, expected: int, order_id: int, action: str) -> None:
    """Inventory's answer unless it is `expected`, as this module's errors."""
    if response.status_code == 409:
        raise _conflict_for_refusal(response, action)
    if response.status_code == 404:
        raise Conflict(f"Inventory holds no reservation for order {order_id}; cannot {action}")
    if response.status_code != expected:
        log.warning("inventory answered %s when asked to %s", response.status_code, action)
        raise Unavailable(f"The inventory service could not {action}")


def _conflict_for_refusal(response, action: str) -> Conflict:
    """Inventory's 409 for the client: `short` and `errors` carried over when stock is short,
    inventory's own detail when the reservation is settled."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    short = body.get("short") or []
    if not short:
        reason = body.get("detail") or "the reservation is no longer reserved"
        return Conflict(f"Inventory refused to {action}: {reason}")
    names = ", ".join(str(line.get("product_id")) for line in short)
    return Conflict(
        f"Not enough stock to {action}: products {names}",
        errors=body.get("errors") or {"items": [f"Not enough stock for products {names}"]},
        extra={"short": short},
    )
