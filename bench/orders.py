"""Placing orders through the gateway with 10 concurrent buyers (issue 6: orders/s and p99).

Each request is a whole POST /orders: auth_request at the gateway, the client checked (HEAD), the
product fetched (one batch GET), the order row committed as `reserving`, the stock reserved in
inventory (row lock), and the order marked pending. The product is given a stock no run can
exhaust, so every answer is a 201; wrk's requests/s is orders/s. When the run ends, the orders it
placed are cancelled and deleted, then the client and the product."""

from __future__ import annotations

import atexit
import json
import random
import urllib.error
import urllib.request
import uuid

from services.kit.makers import ean13

from .registry import Context, Request, case

BUYERS = 10
STOCK = 1_000_000_000


def _call(ctx: Context, method: str, path: str, body: dict | None = None) -> dict | None:
    request = urllib.request.Request(  # noqa: S310 (the stack's own loopback URL)
        f"{ctx.cfg.gateway_url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={**ctx.bearer(), "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


def _cpf() -> str:
    nine = "".join(str(random.randint(0, 9)) for _ in range(9))  # noqa: S311 (test data)
    digits = [int(d) for d in nine]
    for _ in range(2):
        weight = len(digits) + 1
        remainder = sum(d * (weight - i) for i, d in enumerate(digits)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def _clean_up(ctx: Context, client_id: int, product_id: int) -> None:
    """Cancel and delete the run's orders, then its client and product (best effort)."""
    try:
        while True:
            page = _call(ctx, "GET", f"/orders?client_id={client_id}&per_page=100")
            if not page or not page["items"]:
                break
            for order in page["items"]:
                if order["status"] == "pending":
                    _call(ctx, "POST", f"/orders/{order['id']}/status", {"status": "cancelled"})
                _call(ctx, "DELETE", f"/orders/{order['id']}")
        _call(ctx, "DELETE", f"/clients/{client_id}")
        stock = _call(ctx, "GET", f"/inventory/stock/{product_id}")
        if stock and stock["on_hand"]:
            movement = {"quantity": -stock["on_hand"], "reason": "adjustment", "note": "bench"}
            _call(ctx, "POST", f"/inventory/stock/{product_id}/movements", movement)
        _call(ctx, "DELETE", f"/products/{product_id}")
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        print(f"    could not clean up the orders bench's data: {exc}")


@case("order creation (10 buyers)")
def order_creation(ctx: Context) -> Request:
    """POST /orders through the gateway, 10 buyers at once: requests/s is orders/s."""
    tag = uuid.uuid4().hex[:10]
    client = _call(
        ctx,
        "POST",
        "/clients",
        {"name": f"Bench buyer {tag}", "email": f"bench-{tag}@example.com", "cpf": _cpf()},
    )
    twelve = f"2{random.randint(0, 10**11 - 1):011d}"  # noqa: S311 (test data)
    product = _call(
        ctx,
        "POST",
        "/products",
        {
            "name": f"Bench product {tag}",
            "price": "19.90",
            "barcode": ean13(twelve),
            "initial_stock": STOCK,
        },
    )
    atexit.register(_clean_up, ctx, client["id"], product["id"])
    body = {
        "client_id": client["id"],
        "items": [{"product_id": product["id"], "quantity": 1}],
        "payment_method": "pix",
    }
    return Request(
        f"{ctx.cfg.gateway_url}/orders",
        {**ctx.bearer(), "Content-Type": "application/json"},
        connections=BUYERS,
        method="POST",
        body=json.dumps(body),
    )
