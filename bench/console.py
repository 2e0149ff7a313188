"""The console's pages (issue 18): p95 under 150 ms at the console, signed in as the admin, over
the 100k-product catalogue (topped up with COPY first, as the catalogue's cases do). Each page is
the console's own work plus its calls through the gateway with the admin's token."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

from stack.seed import bulk_products

from .registry import Context, Request, case

ROWS = 100_000
P95_GOAL_MS = 150.0
# One request at a time per core: what a page costs, not how long it queues.
CONNECTIONS = 2
SESSION: dict[str, str] = {}


def _cookie(ctx: Context) -> str:
    """`Cookie:` of a console session signed in through its own form (CSRF token and all)."""
    if "cookie" in SESSION:
        return SESSION["cookie"]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = ctx.cfg.service_url("console")
    with opener.open(f"{base}/console/login", timeout=10) as page:  # loopback console
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())[1]
    form = urllib.parse.urlencode(
        {
            "email": ctx.cfg.get("FEIRA_ADMIN_EMAIL"),
            "password": ctx.cfg.get("FEIRA_ADMIN_PASSWORD"),
            "csrf_token": token,
        }
    ).encode()
    with opener.open(f"{base}/console/login", data=form, timeout=20) as signed:
        signed.read()
    SESSION["cookie"] = "; ".join(f"{c.name}={c.value}" for c in jar)
    return SESSION["cookie"]


def _page(ctx: Context, path: str) -> Request:
    bulk_products(ctx.cfg, ROWS)
    return Request(
        f"{ctx.cfg.service_url('console')}{path}",
        {"Cookie": _cookie(ctx)},
        connections=CONNECTIONS,
        p95_under_ms=P95_GOAL_MS,
    )


@case("console dashboard")
def dashboard(ctx: Context) -> Request:
    """GET /console/ as the admin: KPIs of 30 days, low stock, orders waiting (three API calls)."""
    return _page(ctx, "/console/")


@case("console products (100k)")
def products(ctx: Context) -> Request:
    """GET /console/products: the first page of the 100k-product catalogue and its categories."""
    return _page(ctx, "/console/products")


@case("console products search (100k)")
def products_search(ctx: Context) -> Request:
    """GET /console/products?q=teclado: the catalogue's Portuguese search, as a page."""
    return _page(ctx, "/console/products?q=teclado")


@case("console orders")
def orders(ctx: Context) -> Request:
    """GET /console/orders: the newest orders, 20 a page."""
    return _page(ctx, "/console/orders?sort=-created_at")


@case("console clients")
def clients(ctx: Context) -> Request:
    """GET /console/clients: clients by name, 20 a page."""
    return _page(ctx, "/console/clients?sort=name")
