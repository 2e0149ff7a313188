"""`running_shops()`: the fixture shops over real HTTP in a thread, for pytest.

    with running_shops(slow_s=1) as shops:
        requests.get(shops.url + "/loja-json/")
        shops.requests("/loja-json/ofertas/")   # what was served under that path
        shops.forget()

The yielded `RunningShops` is a `str` (the base URL, `http://127.0.0.1:<port>`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.kit.testing import LiveServer

from . import create_app


class RunningShops(str):
    app: object

    @property
    def url(self) -> str:
        return str(self)

    def requests(self, path: str = "") -> list[dict]:
        return self.app.extensions["shops_log"].read(path)

    def forget(self) -> None:
        self.app.extensions["shops_log"].clear()


@contextmanager
def running_shops(*, slow_s: float = 3, big_count: int = 500) -> Iterator[RunningShops]:
    server = LiveServer(
        create_app({"SHOPS_STANDIN_SLOW_S": slow_s, "SHOPS_STANDIN_BIG_COUNT": big_count})
    )
    shops = RunningShops(server.base_url)
    shops.app = server.app
    server.start()
    try:
        yield shops
    finally:
        server.stop()
