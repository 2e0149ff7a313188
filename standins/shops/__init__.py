"""Fixture shops: small Brazilian web shops with different layouts, for the collector to read on
a machine that cannot reach real ones. Test infrastructure (see `standins`): run by the stack as
the supervisord program `shops-standin` (one gunicorn worker: the request log is in memory) on
127.0.0.1:`SHOPS_STANDIN_PORT`, never behind the gateway.

Every shop is served at `/<shop>/` and, for a test's own copy (names and GTINs of its own), at
`/t/<tag>/<shop>/` (tag: letters, digits, `-`, up to 40).

    /loja-json/       Casa Aurora: JSON-LD on each product page (a plain Product and Offer
                      priced "R$ 1.299,90", an @graph, an AggregateOffer, HTML-escaped JSON with
                      comments and trailing commas), 10 products over 3 listing pages linked by
                      rel=next; ETag and Last-Modified (304 to a conditional request). Its
                      listing links to /loja-json/ofertas/, which robots.txt disallows.
    /loja-micro/      Empório Serra Azul: schema.org microdata, no validators (the collector's
                      content hash finds it unchanged).
    /loja-simples/    Bazar da Vila: no structured data (h1.titulo, span.preco, div.descricao,
                      img.foto: the source's selectors), and one page with OpenGraph product
                      tags only.
    /loja-instavel/   Loja Instável: one good product, a JSON-LD block that cannot be repaired,
                      a product without a price, a page answering 500, a slow page
                      (SHOPS_STANDIN_SLOW_S seconds, default 3; the stack sets it
                      past the collector's read timeout) and a link to a page that is 404.
    /loja-grande/     Megaloja: SHOPS_STANDIN_BIG_COUNT (500) products, 25 per listing page,
                      JSON-LD, no pictures (the benchmark's shop).
    /imagens/<name>.png|.jpg   small generated pictures.
    /robots.txt       disallows every shop's /ofertas/ section (`Disallow: /*/ofertas/`).

Test-only routes (JSON):
    GET    /_standin/health
    GET    /_standin/requests?path=<prefix>   {"items": [{method, path, query, user_agent,
                                              if_none_match, if_modified_since, at}]}, oldest
                                              first: every request served (the last 20000)
    DELETE /_standin/requests                 forget them
"""

from __future__ import annotations

import collections
import os
import threading
import time

from flask import Flask, request

from . import pages


class RequestLog:
    def __init__(self, size: int = 20000):
        self.lock = threading.Lock()
        self.items: collections.deque = collections.deque(maxlen=size)

    def add(self, entry: dict) -> None:
        with self.lock:
            self.items.append(entry)

    def read(self, prefix: str = "") -> list[dict]:
        with self.lock:
            return [item for item in self.items if item["path"].startswith(prefix)]

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SHOPS_STANDIN_SLOW_S=float(os.environ.get("SHOPS_STANDIN_SLOW_S") or 3),
        SHOPS_STANDIN_BIG_COUNT=int(os.environ.get("SHOPS_STANDIN_BIG_COUNT") or 500),
    )
    app.config.update(config or {})
    log = app.extensions["shops_log"] = RequestLog()

    @app.before_request
    def record():
        if request.path.startswith("/_standin/"):
            return
        log.add(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode("latin-1"),
                "user_agent": request.headers.get("User-Agent"),
                "if_none_match": request.headers.get("If-None-Match"),
                "if_modified_since": request.headers.get("If-Modified-Since"),
                "at": time.time(),
            }
        )

    @app.get("/_standin/health")
    def health():
        return {"status": "ok"}

    @app.get("/_standin/requests")
    def requests_served():
        return {"items": log.read(request.args.get("path", ""))}

    @app.delete("/_standin/requests")
    def forget_requests():
        log.clear()
        return "", 204

    app.register_blueprint(pages.bp)
    return app
