"""Signing in leaves nothing of the browser's earlier session usable: the CSRF token of the
pages seen before it is dead (a token planted before sign-in cannot forge a signed-in form),
and signing in again ends the session row the browser had."""

from services.console.sessions import PLAIN_COOKIE

from .conftest import ADMIN, csrf_of, rows, sign_in


def test_a_csrf_token_from_before_sign_in_is_refused_after_it(browser):
    page = browser.get("/console/login")
    before = csrf_of(page.text)
    signed = browser.post(
        "/console/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": before}
    )
    assert signed.status_code == 303
    assert browser.post("/console/logout", data={"csrf_token": before}).status_code == 400
    fresh = csrf_of(browser.get("/console/account").text)
    assert browser.post("/console/logout", data={"csrf_token": fresh}).status_code == 303


def test_signing_in_again_ends_the_session_row_the_browser_had(app, browser):
    sign_in(browser)
    [first] = rows(app)
    old_cookie = browser.get_cookie(PLAIN_COOKIE, path="/console").value
    assert sign_in(browser).status_code == 303
    [second] = rows(app)
    assert second.id != first.id
    browser.set_cookie(PLAIN_COOKIE, old_cookie, path="/console")
    assert browser.get("/console/account").status_code == 302
