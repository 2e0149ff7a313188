"""List and search latency at the service, over 100k clients and 100k products (issues 3 and 4:
p95 under 50 ms). The data is topped up with COPY first (stack/seed.py), once per database."""

from __future__ import annotations

import json
import urllib.request

from stack.seed import bulk_clients, bulk_products

from .registry import Context, Request, case

ROWS = 100_000
P95_GOAL_MS = 50.0
# Two connections: one request at a time per core, so the figure is what a request costs at the
# service rather than how long it queues behind fifteen others.
CONNECTIONS = 2


def _at_service(ctx: Context, service: str, path: str) -> Request:
    return Request(
        f"{ctx.cfg.service_url(service)}{path}",
        ctx.bearer(),
        connections=CONNECTIONS,
        p95_under_ms=P95_GOAL_MS,
    )


def _some_category(ctx: Context) -> int:
    request = urllib.request.Request(  # noqa: S310 (the stack's own loopback URL)
        f"{ctx.cfg.service_url('products')}/categories?per_page=1", headers=ctx.bearer()
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)["items"][0]["id"]


@case("clients name filter (100k)")
def clients_by_name(ctx: Context) -> Request:
    """GET /clients?name=silva at the clients service: trigram index, sorted by name."""
    if added := bulk_clients(ctx.cfg, ROWS):
        print(f"    loaded {added} clients")
    return _at_service(ctx, "clients", "/clients?name=silva")


@case("products filtered page (100k)")
def products_filtered(ctx: Context) -> Request:
    """GET /products by category and price range, sorted by price descending."""
    if added := bulk_products(ctx.cfg, ROWS):
        print(f"    loaded {added} products")
    category = _some_category(ctx)
    path = f"/products?category_id={category}&min_price=10&max_price=500&sort=-price"
    return _at_service(ctx, "products", path)


@case("products q search (100k)")
def products_search(ctx: Context) -> Request:
    """GET /products?q=teclado: Portuguese full-text search over name and description."""
    bulk_products(ctx.cfg, ROWS)
    return _at_service(ctx, "products", "/products?q=teclado")
