"""The account page and the users page send the account's ETag as their form was loaded
(If-Match), against the real auth: a change someone made since (in another tab or session, or
another admin) is auth's 412, said in Portuguese, the form shown again with the account as it is
now and nothing changed; the form as it is now saves. A form without its tag (a page from before
it carried one) is taken as stale, as the order edit takes it: nothing is sent."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from services.auth.models import User, db

from .conftest import PASSWORD, change_user, form_fields, register, sign_in

ACCOUNT = "/console/account"
ACCOUNT_CHANGED = "Sua conta mudou desde que o formulário foi aberto: confira e salve de novo."


def notice_of(page: str) -> str:
    found = re.search(r'<div class="notice error" role="alert">(.*?)</div>', page, re.S)
    return unescape(found.group(1)) if found else ""


def account_of(auth, email: str) -> User:
    with auth.app_context():
        found = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        db.session.remove()
        return found


def as_auth_tags_it(gateway, token: str, path: str) -> str:
    """The ETag auth gives `path` now, read with `token` through the gateway."""
    answer = requests.get(
        f"{gateway.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    answer.raise_for_status()
    return answer.headers["ETag"]


def token_of(gateway, email: str) -> str:
    """A session of the account's own, apart from the console's (another tab, another device)."""
    return requests.post(
        f"{gateway.base_url}/auth/login", json={"email": email, "password": PASSWORD}, timeout=5
    ).json()["access_token"]


def renamed_elsewhere(gateway, email: str, name: str) -> None:
    """The account renamed through the API, in a session of its own."""
    requests.patch(
        f"{gateway.base_url}/auth/me",
        json={"name": name, "current_password": PASSWORD},
        headers={"Authorization": f"Bearer {token_of(gateway, email)}"},
        timeout=5,
    ).raise_for_status()


def account_form(browser) -> dict[str, str]:
    return form_fields(browser.get(ACCOUNT).text, "account-form")


def test_the_account_form_carries_the_accounts_etag_and_saves_with_it(auth, gateway, browser):
    register(browser, email="ana@example.com", name="Ana")
    form = account_form(browser)
    assert form["etag"] == as_auth_tags_it(
        gateway, token_of(gateway, "ana@example.com"), "/auth/me"
    )
    answer = browser.post(ACCOUNT, data={**form, "name": "Ana Maria", "current_password": PASSWORD})
    assert answer.status_code == 303, answer.text
    assert account_of(auth, "ana@example.com").name == "Ana Maria"


def test_an_account_changed_since_the_form_was_loaded_is_said_and_left_as_it_is(
    auth, gateway, browser
):
    register(browser, email="ana@example.com", name="Ana")
    form = account_form(browser)
    renamed_elsewhere(gateway, "ana@example.com", "Ana B")  # another tab, meanwhile
    answer = browser.post(ACCOUNT, data={**form, "name": "Ana Maria", "current_password": PASSWORD})
    assert answer.status_code == 412
    assert notice_of(answer.text) == ACCOUNT_CHANGED
    assert account_of(auth, "ana@example.com").name == "Ana B"
    # The form comes back with the account as it is now, and its tag as it is now: it saves.
    shown = form_fields(answer.text, "account-form")
    assert shown["name"] == "Ana B"
    assert shown["etag"] != form["etag"]
    saved = browser.post(ACCOUNT, data={**shown, "name": "Ana Maria", "current_password": PASSWORD})
    assert saved.status_code == 303, saved.text
    assert account_of(auth, "ana@example.com").name == "Ana Maria"


def test_a_new_password_on_a_stale_form_is_not_set(auth, gateway, browser):
    """Auth tells the stale tag before it checks the current password: no guess is counted."""
    register(browser, email="ana@example.com", name="Ana")
    form = account_form(browser)
    renamed_elsewhere(gateway, "ana@example.com", "Ana B")
    answer = browser.post(
        ACCOUNT, data={**form, "password": "grampo-cavalo-bateria-77", "current_password": PASSWORD}
    )
    assert answer.status_code == 412
    assert notice_of(answer.text) == ACCOUNT_CHANGED
    assert token_of(gateway, "ana@example.com")  # the password is still the old one
    assert account_of(auth, "ana@example.com").name == "Ana B"  # not put back to "Ana"


@pytest.mark.parametrize("etag", [None, "", 'W/"x\ny"'], ids=["missing", "emptied", "unsendable"])
def test_an_account_form_without_a_tag_it_can_send_changes_nothing(auth, browser, etag):
    """A page from before the form carried its tag: it cannot say what it was loaded with, and
    a PATCH without If-Match would overwrite whatever changed since."""
    register(browser, email="ana@example.com", name="Ana")
    form = {**account_form(browser), "name": "Ana Maria", "current_password": PASSWORD}
    form.pop("etag")
    answer = browser.post(ACCOUNT, data=form if etag is None else {**form, "etag": etag})
    assert answer.status_code == 412
    assert notice_of(answer.text) == ACCOUNT_CHANGED
    assert form_fields(answer.text, "account-form")["etag"]  # the form to send again has one
    assert account_of(auth, "ana@example.com").name == "Ana"


# --- the users page ---


def users_page(browser, email: str) -> tuple[str, int]:
    """The users page filtered to `email`, and that account's id."""
    page = browser.get("/console/users", query_string={"email": email}).text
    return page, int(re.search(r'action="/console/users/(\d+)[?"]', page).group(1))


def user_changed(email: str) -> str:
    return (
        f"A conta {email} mudou desde que a página foi aberta e não foi alterada: confira-a"
        " abaixo e altere de novo se ainda for o caso."
    )


@pytest.fixture
def caio(app, auth, browser):
    """Caio's account, and the admin's browser signed in."""
    register(app.test_client(), email="caio@example.com", name="Caio")
    sign_in(browser)
    return "caio@example.com"


def test_each_users_row_carries_its_accounts_etag_and_saves_with_it(auth, gateway, browser, caio):
    page, caio_id = users_page(browser, caio)
    form = form_fields(page, f"active-form-{caio_id}")
    assert form["etag"] == as_auth_tags_it(
        gateway, token_of(gateway, caio), f"/auth/users/{caio_id}"
    )
    answer = browser.post(f"/console/users/{caio_id}?email={caio}", data=form)
    assert answer.status_code == 303
    assert account_of(auth, caio).active is False


def test_an_account_changed_since_the_users_page_was_shown_is_said_and_left_as_it_is(
    auth, gateway, browser, caio
):
    page, caio_id = users_page(browser, caio)
    form = form_fields(page, f"active-form-{caio_id}")
    change_user(gateway, caio, role="admin")  # another admin promotes Caio meanwhile
    answer = browser.post(f"/console/users/{caio_id}?email={caio}", data=form)
    assert answer.status_code == 412
    assert notice_of(answer.text) == user_changed(caio)
    found = account_of(auth, caio)
    assert (found.active, found.role) == (True, "admin")
    # The list comes back as it is now, filtered as it was, its row's tag as it is now: it saves.
    row = re.search(r'<tr data-user="caio@example.com">.*?</tr>', answer.text, re.S).group(0)
    assert "<td>administrador</td>" in row
    shown = form_fields(answer.text, f"active-form-{caio_id}")
    assert shown["etag"] != form["etag"]
    saved = browser.post(f"/console/users/{caio_id}?email={caio}", data=shown)
    assert saved.status_code == 303
    assert parse_qs(urlsplit(saved.headers["Location"]).query) == {"email": [caio]}
    assert account_of(auth, caio).active is False


@pytest.mark.parametrize("etag", [None, "", 'W/"x\ny"'], ids=["missing", "emptied", "unsendable"])
def test_a_users_form_without_a_tag_it_can_send_changes_nothing(auth, browser, caio, etag):
    page, caio_id = users_page(browser, caio)
    form = form_fields(page, f"active-form-{caio_id}")
    form.pop("etag")
    answer = browser.post(
        f"/console/users/{caio_id}", data=form if etag is None else {**form, "etag": etag}
    )
    assert answer.status_code == 412
    assert notice_of(answer.text) == user_changed(caio)
    assert account_of(auth, caio).active is True
