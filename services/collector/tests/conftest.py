"""The collector suite runs against the REAL products service (its internal door, with the
collector's service credential) and the fixture shops, each over real HTTP on a local port, all
on the test database."""

import time

import pytest
from flask import Flask, Response, make_response, request

from services.collector import create_app
from services.kit.testing import LiveServer, build_app, truncate_all
from services.products import create_app as create_products_app
from standins.shops.testing import running_shops


@pytest.fixture(scope="session")
def shops():
    # The slow page outlasts the collector's read timeout (`app`: 1 s) by a second.
    with running_shops(slow_s=2.0, big_count=30) as running:
        yield running


class OwnShop(str):
    """A shop of the test's own pages over real HTTP (its base URL): `pages[path]` is what a
    Flask view returns (a body, or `(body, status, headers)`), or a list of them answered in turn
    (the last one from then on), answered 304 to a request that names its `ETag` or
    `Last-Modified` as a shop would; robots.txt allows everything unless a test writes one;
    `asked` is each request's path, headers and arrival (`at`, time.monotonic()), oldest first."""

    pages: dict
    asked: list

    @property
    def url(self) -> str:
        return str(self)


class AsWritten(Response):
    """Sends the Location a test wrote as it is: werkzeug would re-encode it, and fail on a
    broken one (`http://[`) that a shop may well send."""

    def get_wsgi_headers(self, environ):
        location = self.headers.pop("Location", None)
        headers = super().get_wsgi_headers(environ)
        if location is not None:
            headers["Location"] = self.headers["Location"] = location
        return headers


@pytest.fixture(scope="session")
def own_shop_server():
    app = Flask(__name__)
    app.response_class = AsWritten
    shop = None

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def page(path):
        shop.asked.append(
            {"path": request.path, "headers": dict(request.headers), "at": time.monotonic()}
        )
        if request.path == "/robots.txt" and "/robots.txt" not in shop.pages:
            return "User-agent: *\nAllow: /\n", 200, {"Content-Type": "text/plain"}
        answer = shop.pages.get(request.path, ("", 404))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        answer = make_response(answer)
        if request.if_none_match or request.if_modified_since:
            # Only then: werkzeug would read a streamed body whole to measure it.
            answer.make_conditional(request)
        return answer

    server = LiveServer(app).start()
    shop = OwnShop(server.base_url)
    shop.pages, shop.asked = {}, []
    yield shop
    server.stop()


@pytest.fixture
def own_shop(own_shop_server):
    own_shop_server.pages.clear()
    own_shop_server.asked.clear()
    return own_shop_server


@pytest.fixture(scope="session")
def products_app(database, jwt_keys, tmp_path_factory):
    media = str(tmp_path_factory.mktemp("collector-media"))
    return build_app(create_products_app, "products", database, jwt_keys, MEDIA_DIR=media)


@pytest.fixture(scope="session")
def products(products_app):
    server = LiveServer(products_app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(database, jwt_keys, products):
    return build_app(
        create_app,
        "collector",
        database,
        jwt_keys,
        SERVICE_URLS={"products": products.base_url},
        COLLECTOR_ALLOWED_PRIVATE_HOSTS=["127.0.0.1"],
        COLLECTOR_CONTACT_URL="https://feira.test/coletor",
        # Time enough for a page of the test's own shop on a loaded machine (0.5 s was not once,
        # with three pytest processes on two cores), short enough to wait for the slow one.
        COLLECTOR_READ_TIMEOUT_S=1.0,
        HTTP_RETRIES=0,
    )


@pytest.fixture
def client(app, products_app, shops):
    truncate_all(app)
    truncate_all(products_app)
    shops.forget()
    return app.test_client()
