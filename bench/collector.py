"""The collector (issue 17): pages per second and products per second for the 500-product fixture
shop (Megaloja, `/loja-grande/`: 20 listing pages of 25 and a JSON-LD page per product, no
pictures), with `delay_s: 0`.

Not requests wrk sends: each round adds a source for a copy of the shop of its own
(`/t/bench<uuid>/loja-grande/`, so every product is new and created), asks for a run through the
gateway as the admin and polls it until it ends. The whole walk is timed by the run itself
(`finished_at - started_at`): robots.txt, every page fetched and parsed, one upsert per product
page through products' internal door, the run's progress committed page by page.
"collector pages" is pages_fetched over that time, "collector products" products created over the
same time; both figures of a round come from one run (the second case reads the run the first one
made in that round, or makes its own when it runs alone). The latencies are the times between two
consecutive page requests the shop served (its request log): what one page costs the collector.

Needs the fixture shops (`FEIRA_STANDINS` with `shops`, SHOPS_STANDIN_BIG_COUNT=500) and
127.0.0.1 in the collector worker's COLLECTOR_ALLOWED_PRIVATE_HOSTS. When the bench ends, the
products the runs made and their sources are deleted."""

from __future__ import annotations

import atexit
import itertools
import json
import time
import urllib.request
import uuid
from datetime import datetime

from .orders import _call
from .payments import _in_parallel
from .registry import Context, Request, case

DEADLINE_S = 600.0
POLL_S = 0.25

_latest: dict = {"figures": None, "used_by": set()}
_made: dict[str, list] = {"sources": [], "tags": [], "cleaning": []}


def _shops_url(ctx: Context) -> str:
    return f"http://{ctx.cfg.host}:{ctx.cfg.get('SHOPS_STANDIN_PORT', '5092')}"


def _served(ctx: Context, path: str) -> list[dict]:
    url = f"{_shops_url(ctx)}/_standin/requests?path={path}"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback stand-in)
        return json.load(response)["items"]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _collect(ctx: Context) -> dict:
    """One run of a fresh copy of the big shop; its figures."""
    tag = f"bench{uuid.uuid4().hex[:10]}"
    _made["tags"].append(tag)
    start = f"{_shops_url(ctx)}/t/{tag}/loja-grande/"
    source = _call(
        ctx,
        "POST",
        "/collector/sources",
        {"name": f"Megaloja {tag}", "start_urls": [start], "delay_s": "0", "max_pages": 1000},
    )
    _made["sources"].append(source["id"])
    run = _call(ctx, "POST", f"/collector/sources/{source['id']}/runs")
    began = time.monotonic()
    while run["status"] in ("queued", "running"):
        if time.monotonic() - began > DEADLINE_S:
            raise ValueError(f"the collector's run {run['id']} took over {DEADLINE_S:.0f}s")
        time.sleep(POLL_S)
        run = _call(ctx, "GET", f"/collector/runs/{run['id']}")
    if run["status"] != "succeeded":
        raise ValueError(f"the collector's run ended {run['status']}: {run['error']}")
    seconds = (
        datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    ).total_seconds()
    times = sorted(entry["at"] for entry in _served(ctx, f"/t/{tag}/loja-grande/"))
    gaps = [1000 * (later - earlier) for earlier, later in itertools.pairwise(times)]
    latency = {
        share: round(_percentile(gaps, value), 2)
        for share, value in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }
    return {"run": run, "seconds": seconds, "latency_ms": latency}


def _figures(ctx: Context, name: str) -> dict:
    """The round's run: the one the other case made this round, else a new one."""
    if _latest["figures"] is None or name in _latest["used_by"]:
        _latest["figures"], _latest["used_by"] = _collect(ctx), set()
    _latest["used_by"].add(name)
    return _latest["figures"]


def _result(figures: dict, count: int, unit: str) -> dict:
    seconds = max(figures["seconds"], 1e-6)
    return {
        "requests_per_s": round(count / seconds, 2),
        "requests": count,
        "seconds": round(seconds, 3),
        "latency_ms": figures["latency_ms"],
        "socket_errors": {},
        "non_2xx": 0,
        "unit": unit,
    }


def _clean_up(ctx: Context) -> None:
    """The products the runs made (found by each copy's tag), then the sources."""
    for tag in _made["tags"]:
        while True:
            page = _call(ctx, "GET", f"/products?q={tag}&per_page=100")
            if not page["items"]:
                break
            _in_parallel(
                lambda product: _call(ctx, "DELETE", f"/products/{product['id']}"), page["items"]
            )
    for source_id in _made["sources"]:
        _call(ctx, "DELETE", f"/collector/sources/{source_id}")


def _prepare(ctx: Context, name: str, unit: str) -> Request:
    _served(ctx, "/robots.txt")  # the shops answer before anything is made
    if not _made["cleaning"]:
        _made["cleaning"].append(True)
        atexit.register(_clean_up, ctx)

    def measure(seconds: int) -> dict:
        figures = _figures(ctx, name)
        count = figures["run"]["pages_fetched" if unit == "pages" else "created"]
        return _result(figures, count, unit)

    return Request(f"{_shops_url(ctx)}/loja-grande/", measure=measure)


@case("collector pages")
def collector_pages(ctx: Context) -> Request:
    """Fixture-shop pages the collector fetched and parsed per second (500 products, delay 0)."""
    return _prepare(ctx, "collector pages", "pages")


@case("collector products")
def collector_products(ctx: Context) -> Request:
    """Products the collector created per second from the 500-product fixture shop (delay 0)."""
    return _prepare(ctx, "collector products", "products")
