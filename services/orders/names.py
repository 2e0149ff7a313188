"""The names the KPIs show beside ids orders keeps without them: clients' (from clients) and
categories' (from products), read over HTTP with the caller's token once the figures are
counted. A label is not a figure: a name its service cannot give (it is down, or the client or
category is gone) is null, and the report still answers.

Names read are kept for NAMES_TTL_S seconds per app (a client or category renamed shows its old
name that long); an id without a kept name is asked for again every time. The figures are never
kept: every report counts them afresh."""

from __future__ import annotations

import logging
import time

from flask import current_app

from services.kit import Unavailable, service

log = logging.getLogger(__name__)
# The list routes' largest page.
PAGE = 100
# The most pages of clients one report reads: a sales report by client over a long period may
# name thousands, one read after another, each up to its timeout. Those past it are unnamed.
MAX_CLIENT_PAGES = 10
NAMES_TTL_S = 10.0


def clients(ids: list[int]) -> dict[int, str]:
    """Client id → name: those not kept read a page of ids at a time, at most
    MAX_CLIENT_PAGES, until clients cannot answer (the rest are then unnamed: one slow or
    missing service costs one read's wait, not one per page)."""
    kept = _kept("clients")
    missing = [id_ for id_ in dict.fromkeys(ids) if id_ not in kept]
    for start in range(0, min(len(missing), PAGE * MAX_CLIENT_PAGES), PAGE):
        batch = missing[start : start + PAGE]
        page = _page("clients", "/clients", {"ids": ",".join(map(str, batch)), "per_page": PAGE})
        if page is None:
            break
        kept.update(page[0])
    return {id_: kept[id_] for id_ in ids if id_ in kept}


def categories(ids: list[int]) -> dict[int, str]:
    """Category id → name: the categories are few, read a page at a time until every id is
    named or the list ends; read again only when the kept names lack one of the ids."""
    kept = _kept("categories")
    number = 1
    while set(ids) - kept.keys():
        page = _page("products", "/categories", {"page": number, "per_page": PAGE})
        if page is None:
            break
        named, more = page
        kept.update(named)
        if not more:
            break
        number += 1
    return {id_: kept[id_] for id_ in ids if id_ in kept}


def _kept(kind: str) -> dict[int, str]:
    """This app's names of `kind`, emptied once they are NAMES_TTL_S old."""
    cache = current_app.extensions.setdefault("orders.names", {})
    read_at, names = cache.get(kind, (0.0, {}))
    if time.monotonic() - read_at > NAMES_TTL_S:
        read_at, names = time.monotonic(), {}
        cache[kind] = (read_at, names)
    return names


def _page(name: str, path: str, params: dict) -> tuple[dict[int, str], bool] | None:
    """One page of `path`'s items as id → name, and whether more pages follow; None when the
    service cannot say."""
    client = service(name)
    try:
        response = client.get(path, params=params)
        if response.status_code != 200:
            raise Unavailable(f"The {name} service answered {response.status_code}")
        items, page, total = client.read(
            response, lambda body: (body["items"], int(body["page"]), int(body["total"]))
        )
        named = {int(item["id"]): str(item["name"]) for item in items}
    except (Unavailable, KeyError, TypeError, ValueError) as exc:
        log.warning("the KPIs' names from %s are missing: %s", name, exc)
        return None
    return named, page * PAGE < total
