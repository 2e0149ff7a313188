"""The backend-for-frontend's sessions: the browser holds an opaque id, the tokens stay on the
server (encrypted), sign-in rotates the id, an expired access token is refreshed with auth,
logout and deactivation end the session, and every form needs its CSRF token."""

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from itsdangerous import TimestampSigner
from sqlalchemy import update

from services.console.models import ConsoleSession, db
from services.console.sessions import PLAIN_COOKIE, SECURE_COOKIE, digest, unseal
from services.kit.testing import rewired, unreachable_url

from .conftest import ADMIN, PASSWORD, change_user, console_app, csrf_of, register, rows, sign_in

JWT_PREFIX = "eyJ"


def cookie(answer, name=PLAIN_COOKIE) -> str:
    found = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert found, answer.headers
    return found[-1]


def test_sign_in_rotates_the_session_id_and_the_browser_gets_only_an_opaque_cookie(app, browser):
    page = browser.get("/console/login")
    anonymous = cookie(page).split(";")[0].split("=", 1)[1]
    answer = browser.post(
        "/console/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/console/")
    header = cookie(answer)
    signed = header.split(";")[0].split("=", 1)[1]
    assert signed != anonymous
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/console" in header
    assert "Secure" not in header
    [row] = rows(app)
    assert row.id == digest(signed) and row.role == "admin"
    with app.app_context():
        tokens = [unseal(row.access_token), unseal(row.refresh_token)]
    assert all(token.startswith(JWT_PREFIX) for token in tokens)
    # Neither the cookie nor the page carries a token, and the row keeps them encrypted: no
    # part of either JWT is in what is stored. (Parts, not the JWT's "eyJ" prefix: base64 of
    # ciphertext holds those three letters now and then.)
    parts = [part for token in tokens for part in token.split(".")]
    home = browser.get("/console/account")
    assert home.status_code == 200 and ADMIN[0] in home.text
    for seen in (header, row.access_token, row.refresh_token, home.text):
        assert not [part for part in parts if part in seen]


def test_pages_before_sign_in_store_no_session_row_and_their_forms_still_work(app, browser):
    for _ in range(5):
        assert app.test_client().get("/console/login").status_code == 200
    page = browser.get("/console/login")
    header = cookie(page)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/console" in header
    assert rows(app) == []
    answer = browser.post(
        "/console/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 303
    assert len(rows(app)) == 1


def test_a_tampered_anonymous_cookie_holds_no_csrf_token(browser):
    page = browser.get("/console/login")
    signed = cookie(page).split(";")[0].split("=", 1)[1]
    browser.set_cookie(PLAIN_COOKIE, signed[:-4] + "AAAA", path="/console")
    answer = browser.post(
        "/console/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 400


def test_an_anonymous_cookie_older_than_its_hours_holds_no_csrf_token(
    database, jwt_keys, gateway, auth_server, browser
):
    # CONSOLE_ANONYMOUS_HOURS of 1.8 s, which the signature's age (whole seconds) reads as 1.
    brief = console_app(
        database,
        jwt_keys,
        gateway,
        auth_server,
        WTF_CSRF_ENABLED=True,
        CONSOLE_ANONYMOUS_HOURS=0.0005,
    )
    form = {"email": ADMIN[0], "password": ADMIN[1]}
    on_time, late = brief.test_client(), brief.test_client()
    late_page = late.get("/console/login")
    time.sleep(2.1)
    on_time_page = on_time.get("/console/login")
    answer = on_time.post("/console/login", data={**form, "csrf_token": csrf_of(on_time_page.text)})
    assert answer.status_code == 303
    answer = late.post("/console/login", data={**form, "csrf_token": csrf_of(late_page.text)})
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/console/login", {"email": ADMIN[0], "password": ADMIN[1]}),
        ("/console/register", {"email": "ana@example.com", "password": PASSWORD, "name": "Ana"}),
    ],
)
def test_a_form_reloaded_before_its_cookie_expired_is_taken_for_its_hours_from_the_reload(
    browser, monkeypatch, path, form
):
    # The cookie's signature is dated by this clock (CONSOLE_ANONYMOUS_HOURS is 2: 7200 s).
    clock = [1_000_000]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: clock[0])
    browser.get(path)
    clock[0] += 5000
    page = browser.get(path)
    clock[0] += 3000  # the first page's cookie is 8000 s old, the reload's 3000 s
    answer = browser.post(path, data={**form, "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303, answer.text


def test_over_tls_the_cookie_is_secure_and_host_prefixed(browser):
    # As nginx passes it on: X-Forwarded-Proto says the browser came over TLS; Flask-WTF then
    # checks the Referer is this host too.
    answer = sign_in(
        browser,
        environ_base={"HTTP_X_FORWARDED_PROTO": "https"},
        headers={"Referer": "https://localhost/console/login"},
    )
    header = cookie(answer, SECURE_COOKIE)
    assert "Secure" in header and "Path=/;" in header + ";" and "HttpOnly" in header


def test_a_post_without_its_csrf_token_is_refused_with_the_400_page(browser):
    sign_in(browser)
    answer = browser.post("/console/categories", data={"name": "Sem token"})
    assert answer.status_code == 400
    assert "text/html" in answer.content_type
    assert "formulário" in answer.text
    forged = browser.post("/console/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400


def test_every_page_forbids_inline_scripts_and_loads_its_own(browser):
    sign_in(browser)
    for path in ("/console/login", "/console/account", "/console/"):
        answer = browser.get(path)
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Cache-Control"] == "no-store"
        for tag in answer.text.split("<script")[1:]:
            assert tag.lstrip().startswith("src=")


def test_assets_have_fingerprinted_names_and_are_cached_for_a_year(browser):
    page = browser.get("/console/login").text
    [href] = [part.split('"')[0] for part in page.split('href="')[1:] if "console." in part[:40]]
    assert href.startswith("/console/assets/console.") and href.endswith(".css")
    asset = browser.get(href)
    assert asset.status_code == 200
    assert "max-age=31536000" in asset.headers["Cache-Control"]
    assert "immutable" in asset.headers["Cache-Control"]
    assert browser.get("/console/assets/console.0000.css").status_code == 404


def test_an_expired_access_token_is_refreshed_with_auth(app, browser):
    sign_in(browser)
    [before] = rows(app)
    with app.app_context():
        db.session.execute(
            update(ConsoleSession).values(access_expires_at=datetime.now(UTC) - timedelta(1))
        )
        db.session.commit()
    assert browser.get("/console/account").status_code == 200
    [after] = rows(app)
    assert after.id == before.id
    assert after.refresh_token != before.refresh_token
    assert after.access_expires_at > datetime.now(UTC)


def test_logout_ends_the_session_here_and_at_auth(app, gateway, browser):
    sign_in(browser)
    [row] = rows(app)
    with app.app_context():
        refresh_token = unseal(row.refresh_token)
    page = browser.get("/console/account")
    answer = browser.post("/console/logout", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/login")
    assert rows(app) == []
    assert browser.get("/console/account").status_code == 302
    refused = requests.post(
        f"{gateway.base_url}/auth/refresh", json={"refresh_token": refresh_token}, timeout=5
    )
    assert refused.status_code == 401


def test_a_deactivated_users_console_session_ends(app, auth, gateway, browser):
    register(browser, email="bia@example.com", name="Bia")
    assert browser.get("/console/account").status_code == 200
    change_user(gateway, "bia@example.com", active=False)
    answer = browser.get("/console/account")
    assert answer.status_code == 302
    assert (
        "/console/login" in answer.headers["Location"] and "ended=1" in answer.headers["Location"]
    )
    assert rows(app) == []


def test_a_session_past_its_expiry_signs_nobody_in(app, browser):
    sign_in(browser)
    with app.app_context():
        db.session.execute(
            update(ConsoleSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
    assert browser.get("/console/account").status_code == 302


def test_a_user_gets_the_403_page_on_admin_pages(browser):
    register(browser)
    for path in (
        "/console/users",
        "/console/collector",
        "/console/notifications",
        "/console/payments/review",
        "/console/products/new",
    ):
        answer = browser.get(path)
        assert answer.status_code == 403, path
        assert "Acesso negado" in answer.text


def test_wrong_credentials_are_shown_on_the_form_and_sign_nobody_in(app, browser):
    answer = sign_in(browser, password="wrong-password")
    assert answer.status_code == 401
    assert "E-mail ou senha incorretos" in answer.text
    assert all(row.user_id is None for row in rows(app))


def from_browser(address):
    """What the gateway adds for a browser at `address` (the console's ProxyFix reads it)."""
    return {"headers": {"X-Forwarded-For": address}}


def test_wrong_passwords_in_one_browser_do_not_block_the_same_email_in_another(app, browser):
    owner, guesser = from_browser("198.51.100.7"), from_browser("203.0.113.9")
    assert sign_in(browser, **owner).status_code == 303
    browser.post(
        "/console/logout", data={"csrf_token": csrf_of(browser.get("/console/account").text)}
    )
    answers = [sign_in(browser, password="wrong-one", **guesser).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    blocked = sign_in(browser, **guesser)
    assert blocked.status_code == 429 and "Muitas tentativas" in blocked.text
    # Every attempt came through the one console, and only the guessing browser is held up.
    assert sign_in(browser, **owner).status_code == 303


def test_auth_down_is_said_on_the_sign_in_form_as_a_503(app, browser):
    with rewired(app, SERVICE_URLS={"auth": unreachable_url()}):
        answer = sign_in(browser)
    assert answer.status_code == 503 and "indisponível" in answer.text
    assert all(row.user_id is None for row in rows(app))


def test_a_refused_console_credential_is_said_as_unavailable_not_as_a_wrong_password(
    app, browser, caplog
):
    wrong_key = {**app.config["SERVICE_KEYS"], "console": "not-the-key-auth-holds"}
    with rewired(app, SERVICE_KEYS=wrong_key):
        answer = sign_in(browser)
    assert answer.status_code == 503 and "indisponível" in answer.text
    assert "incorretos" not in answer.text
    assert "CONSOLE_SERVICE_KEY" in caplog.text
    assert sign_in(browser).status_code == 303


def test_a_taken_email_is_named_next_to_its_field(browser):
    page = browser.get("/console/register")
    answer = browser.post(
        "/console/register",
        data={
            "email": ADMIN[0],
            "password": "s3nha-forte",
            "name": "X",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 409
    assert '<p id="email-error" class="error" data-field="email">Este e-mail já tem conta.</p>' in (
        answer.text
    )


def test_the_dashboard_says_the_kpis_are_unavailable_when_their_route_is_missing(browser):
    sign_in(browser)
    answer = browser.get("/console/")
    assert answer.status_code == 200
    assert "Indicadores indisponíveis" in answer.text and "data-unavailable" in answer.text


def test_users_page_lists_accounts_for_the_admin(browser):
    register(browser, email="caio@example.com", name="Caio")
    browser.post(
        "/console/logout", data={"csrf_token": csrf_of(browser.get("/console/account").text)}
    )
    sign_in(browser)
    answer = browser.get("/console/users")
    assert answer.status_code == 200
    assert 'data-user="caio@example.com"' in answer.text


def test_console_without_its_slash_is_sent_to_the_dashboard_by_a_relative_redirect(browser):
    answer = browser.get("/console", headers={"Host": "127.0.0.1"})
    assert answer.status_code == 308
    assert answer.headers["Location"] == "/console/"


def test_a_picture_past_the_json_limit_is_taken_and_one_past_the_image_limit_is_a_413(app, browser):
    """The registry's large body for the console's picture forms: the CSRF check, which parses
    the form, already sees IMAGE_MAX_BYTES, not the 1 MiB every other request gets."""
    sign_in(browser)
    token = csrf_of(browser.get("/console/account").text)

    def upload(size: int):
        picture = io.BytesIO(b"\xff\xd8\xff" + b"0" * size)
        return browser.post(
            "/console/products/7/images",
            data={"csrf_token": token, "file": (picture, "foto.jpg", "image/jpeg")},
            content_type="multipart/form-data",
        )

    # Past the form: the products API (not routed by this suite's gateway) is what answers.
    assert upload(2 * 1024 * 1024).status_code not in (400, 413)
    too_large = upload(app.config["IMAGE_MAX_BYTES"] + 1)
    assert too_large.status_code == 413
