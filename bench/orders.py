"""Placing orders through the gateway with 10 concurrent buyers (issue 6: orders/s and p99; issue
14: at least 150 orders/s over 50 products, p99 under 250 ms).

Each request is a whole POST /orders: auth_request at the gateway, the client and the product
checked and priced in orders' read model (the bench's client and products were created moments
before; an id the model has not heard of yet is read over HTTP once), the order row committed as
`reserving`, the stock reserved in inventory (row lock: the one synchronous call), and the order
marked pending. One case sends every order for one product (all contend on one stock row), the
other picks one of 50 products per request. Products are given a stock no run can exhaust, so
every answer is a 201; wrk's requests/s is orders/s. When the run ends, the orders it placed are
cancelled and deleted, then the client and the products."""

from __future__ import annotations

import atexit
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid

from services.kit.makers import ean13

from .registry import Context, Request, case

BUYERS = 10
STOCK = 1_000_000_000
SPREAD = 50
# Issue 14's goal for the spread case, from what peers of Feira's size do on the same machine.
SPREAD_ORDERS_PER_S = 150.0
SPREAD_P99_MS = 250.0


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


def _in_parallel(work, items) -> list:
    """`work(item)` for every item, `BUYERS` threads at a time; the first error is raised. Plain
    threads: the clean-ups run at exit, when concurrent.futures no longer takes work. An
    interpreter that starts no thread at exit (CPython 3.12.1 here) gets them one at a time."""
    items = list(items)
    results: list = [None] * len(items)
    errors: list[Exception] = []
    queue = iter(enumerate(items))
    lock = threading.Lock()

    def worker() -> None:
        while not errors:
            with lock:
                index, item = next(queue, (None, None))
            if index is None:
                return
            try:
                results[index] = work(item)
            except Exception as exc:  # handed to the caller
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(min(BUYERS, len(items)))]
    started = []
    for thread in threads:
        try:
            thread.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            break
        started.append(thread)
    if not started:
        worker()
    for thread in started:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _cpf() -> str:
    nine = "".join(str(random.randint(0, 9)) for _ in range(9))  # noqa: S311 (test data)
    digits = [int(d) for d in nine]
    for _ in range(2):
        weight = len(digits) + 1
        remainder = sum(d * (weight - i) for i, d in enumerate(digits)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def _clean_up(ctx: Context, client_id: int, product_ids: list[int]) -> None:
    """Cancel and delete the run's orders, then its client and products (best effort), through
    the API as a client would, `BUYERS` orders at a time: still a while after a long run (the
    stack is busy with it, so a bench started meanwhile would measure a busy machine)."""
    print("==> cleaning up the orders bench's data (the run's orders)", flush=True)
    # wrk stops with orders still on their way: once they are pending they are listed (and
    # cancelling them gives their stock back), which the products' deletion needs.
    time.sleep(1.0)
    try:
        while True:
            page = _call(ctx, "GET", f"/orders?client_id={client_id}&per_page=100")
            if not page or not page["items"]:
                break
            ctx.token()  # renewed here when it must be, not by every thread at once
            _in_parallel(lambda order: _remove_order(ctx, order), page["items"])
        _call(ctx, "DELETE", f"/clients/{client_id}")
        for product_id in product_ids:
            stock = _call(ctx, "GET", f"/inventory/stock/{product_id}")
            if stock and stock["on_hand"]:
                movement = {"quantity": -stock["on_hand"], "reason": "adjustment", "note": "bench"}
                _call(ctx, "POST", f"/inventory/stock/{product_id}/movements", movement)
            _call(ctx, "DELETE", f"/products/{product_id}")
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        print(f"    could not clean up the orders bench's data: {exc}")


def _remove_order(ctx: Context, order: dict) -> None:
    if order["status"] == "pending":
        _call(ctx, "POST", f"/orders/{order['id']}/status", {"status": "cancelled"})
    _call(ctx, "DELETE", f"/orders/{order['id']}")


def _buyer_and_products(ctx: Context, count: int) -> tuple[int, list[int]]:
    """A client and `count` products with a stock no run exhausts, cleaned up at exit."""
    tag = uuid.uuid4().hex[:10]
    client = _call(
        ctx,
        "POST",
        "/clients",
        {"name": f"Bench buyer {tag}", "email": f"bench-{tag}@example.com", "cpf": _cpf()},
    )
    product_ids = []
    for n in range(count):
        twelve = f"2{random.randint(0, 10**11 - 1):011d}"  # noqa: S311 (test data)
        product = _call(
            ctx,
            "POST",
            "/products",
            {
                "name": f"Bench product {tag}-{n}",
                "price": "19.90",
                "barcode": ean13(twelve),
                "initial_stock": STOCK,
            },
        )
        product_ids.append(product["id"])
    atexit.register(_clean_up, ctx, client["id"], product_ids)
    _wait_for_stock(ctx, product_ids)
    return client["id"], product_ids


def _wait_for_stock(ctx: Context, product_ids: list[int], seconds: float = 60.0) -> None:
    """Inventory sets a product's stock when `product.created` reaches it (products' relay): an
    order placed before that is short of stock, a 409 the bench would count."""
    deadline = time.monotonic() + seconds
    waiting = list(product_ids)
    while waiting:
        try:
            stock = _call(ctx, "GET", f"/inventory/stock/{waiting[0]}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            stock = None
        if stock and stock["on_hand"]:
            waiting.pop(0)
        elif time.monotonic() > deadline:
            raise ValueError(f"inventory never heard of product {waiting[0]}")
        else:
            time.sleep(0.1)


def _order(client_id: int, product_id) -> str:
    items = [{"product_id": product_id, "quantity": 1}]
    return json.dumps({"client_id": client_id, "items": items, "payment_method": "pix"})


@case("order creation (10 buyers)")
def order_creation(ctx: Context) -> Request:
    """POST /orders through the gateway, 10 buyers at once, all for one product."""
    client_id, [product_id] = _buyer_and_products(ctx, 1)
    return Request(
        f"{ctx.cfg.gateway_url}/orders",
        {**ctx.bearer(), "Content-Type": "application/json"},
        connections=BUYERS,
        method="POST",
        body=_order(client_id, product_id),
    )


# Each request names one of the products, at random; each wrk thread seeds its own generator.
_SPREAD_LUA = """
local ids = {IDS}
local threads = 0
function setup(thread)
  thread:set("lane", threads)
  threads = threads + 1
end
function init(args)
  math.randomseed(os.time() * 8 + lane)
end
function request()
  local body = string.gsub(BODY, "PRODUCT", ids[math.random(#ids)])
  return wrk.format(nil, nil, nil, body)
end
"""


@case("order creation (10 buyers, 50 products)")
def order_creation_spread(ctx: Context) -> Request:
    """POST /orders through the gateway, 10 buyers at once, each order for one of 50 products."""
    client_id, product_ids = _buyer_and_products(ctx, SPREAD)
    body = _order(client_id, "PRODUCT").replace('"PRODUCT"', "PRODUCT")
    script = _SPREAD_LUA.replace("IDS", ",".join(map(str, product_ids))).replace(
        "BODY", json.dumps(body)
    )
    return Request(
        f"{ctx.cfg.gateway_url}/orders",
        {**ctx.bearer(), "Content-Type": "application/json"},
        connections=BUYERS,
        method="POST",
        script=script,
        at_least_per_s=SPREAD_ORDERS_PER_S,
        p99_under_ms=SPREAD_P99_MS,
    )
