"""The names the KPIs show beside ids orders keeps without them: clients' (from clients) and
categories' (from products), read over HTTP with the caller's token once the figures are
counted. A label is not a figure: a name its service cannot give (it is down, or the client or
category is gone) is null, and the report still answers."""

from __future__ import annotations

import logging

from services.kit import Unavailable, service

log = logging.getLogger(__name__)
# The list routes' largest page.
PAGE = 100


def clients(ids: list[int]) -> dict[int, str]:
    """Client id → name, for at most a page of ids (one batch read)."""
    if not ids:
        return {}
    page = _page("clients", "/clients", {"ids": ",".join(map(str, ids[:PAGE])), "per_page": PAGE})
    return page[0] if page else {}


def categories(ids: list[int]) -> dict[int, str]:
    """Category id → name: the categories are few, read a page at a time until every id is
    named or the list ends."""
    found: dict[int, str] = {}
    number = 1
    while set(ids) - found.keys():
        page = _page("products", "/categories", {"page": number, "per_page": PAGE})
        if page is None:
            break
        named, more = page
        found.update(named)
        if not more:
            break
        number += 1
    return {id_: found[id_] for id_ in ids if id_ in found}


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
