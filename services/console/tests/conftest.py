"""The console's suite runs against the REAL auth service behind a small stand-in for the gateway
(a WSGI dispatcher on a local port that sends /auth/* to auth, as nginx would, and answers the
gateway's 404 problem for every other route), all on the test database. Signing in and up reach
auth directly (its internal /auth/vouched, with the console's credential), on a port of its own."""

import html
import re
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import select

from services.auth import create_app as create_auth_app
from services.console import create_app
from services.console.models import ConsoleSession, db
from services.kit.testing import LiveServer, build_app, truncate_all

ADMIN = ("root@example.com", "root-password")
PASSWORD = "s3nha-forte"


class Gateway:
    """What nginx does for the routes these tests use: /auth/* to auth; nothing else routed. It
    keeps what it was asked for elsewhere (`asked`: path and query), for the tests of what a page
    asks the API."""

    def __init__(self, auth_app):
        self.auth = auth_app.wsgi_app
        self.asked: list[tuple[str, str]] = []

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/auth/"):
            environ["HTTP_X_FORWARDED_FOR"] = environ.get("REMOTE_ADDR", "127.0.0.1")
            return self.auth(environ, start_response)
        self.asked.append((environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")))
        body = b'{"status":404,"title":"Not Found","detail":"No such route"}'
        start_response(
            "404 Not Found",
            [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))],
        )
        return [body]


class ApiGateway(Gateway):
    """The gateway with the paths under `prefixes` answered by a test's stand-in for the API
    (a Flask app), the rest as `Gateway` answers them."""

    def __init__(self, auth_app, api_app, prefixes: tuple[str, ...]):
        super().__init__(auth_app)
        self.api, self.prefixes = api_app.wsgi_app, prefixes

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(self.prefixes):
            return self.api(environ, start_response)
        return super().__call__(environ, start_response)


@contextmanager
def console_with_api(database, jwt_keys, auth, auth_server, api_app, prefixes):
    """A console (CSRF on) whose gateway sends `prefixes` to the stand-in `api_app`."""
    server = LiveServer(ApiGateway(auth, api_app, prefixes)).start()
    try:
        yield console_app(database, jwt_keys, server, auth_server, WTF_CSRF_ENABLED=True)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def auth(database, jwt_keys):
    return build_app(create_auth_app, "auth", database, jwt_keys, SESSION_CHECK=True)


@pytest.fixture(scope="session")
def gateway(auth):
    server = LiveServer(Gateway(auth)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_server(auth):
    server = LiveServer(auth).start()
    yield server
    server.stop()


def console_app(database, jwt_keys, gateway, auth_server, **config):
    """A console in front of the served gateway and auth, on the test database."""
    return build_app(
        create_app,
        "console",
        database,
        jwt_keys,
        GATEWAY_URL=gateway.base_url,
        SERVICE_URLS={"auth": auth_server.base_url},
        SECRET_KEY="test-console-secret",
        **config,
    )


@pytest.fixture(scope="session")
def app(database, jwt_keys, gateway, auth_server):
    return console_app(database, jwt_keys, gateway, auth_server, WTF_CSRF_ENABLED=True)


def emptied_with_the_admin(console, auth, *others):
    """Every table of `console`, auth and `others` emptied, the admin account made again: each
    test starts as the first one did. A browser of `console`, signed in to nothing yet."""
    from services.auth.accounts import ensure_admin

    for each in (console, auth, *others):
        truncate_all(each)
    with auth.app_context():
        ensure_admin(*ADMIN)
    return console.test_client()


def signed_in_admin(console, auth, *others):
    """`emptied_with_the_admin`, then the browser signed in as the admin."""
    browser = emptied_with_the_admin(console, auth, *others)
    sign_in(browser)
    return browser


@pytest.fixture
def browser(app, auth):
    return emptied_with_the_admin(app, auth)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has a form with its CSRF token"
    return found.group(1)


def form_fields(page: str, form_id: str) -> dict[str, str] | None:
    """The form's inputs as a browser sends them untouched: their values, unescaped, each line
    break CRLF (a box only when checked; no button); None when the page has no such form."""
    form = re.search(rf'<form[^>]* id="{form_id}".*?</form>', page, re.S)
    if form is None:
        return None
    sent = {}
    for tag in re.findall(r"<input [^>]*>", form.group(0)):
        name = re.search(r'name="([^"]*)"', tag).group(1)
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                sent[name] = "on"
        else:
            value = html.unescape(re.search(r'value="([^"]*)"', tag).group(1))
            sent[name] = re.sub(r"\r\n|\r|\n", "\r\n", value)
    return sent


def sign_in(browser, email=ADMIN[0], password=ADMIN[1], **environ):
    page = browser.get("/console/login", **environ)
    return browser.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        **environ,
    )


def register(browser, email="ana@example.com", name="Ana"):
    page = browser.get("/console/register")
    answer = browser.post(
        "/console/register",
        data={"email": email, "password": PASSWORD, "name": name, "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 303, answer.text
    return answer


def rows(app) -> list[ConsoleSession]:
    with app.app_context():
        found = db.session.scalars(select(ConsoleSession)).all()
        db.session.expunge_all()
        db.session.remove()
        return found


def admin_token(gateway) -> str:
    """The admin's access token, from auth through the gateway stand-in."""
    return requests.post(
        f"{gateway.base_url}/auth/login",
        json={"email": ADMIN[0], "password": ADMIN[1]},
        timeout=5,
    ).json()["access_token"]


def change_user(gateway, email: str, **change) -> None:
    """The admin changes the account of `email` through the API (`role`, `active`)."""
    token = admin_token(gateway)
    [found] = requests.get(
        f"{gateway.base_url}/auth/users",
        params={"email": email},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()["items"]
    requests.patch(
        f"{gateway.base_url}/auth/users/{found['id']}",
        json=change,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).raise_for_status()
