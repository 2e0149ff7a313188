"""The console's forms and pages with what a browser can send them: values no request can carry
to the API are refused on the form in Portuguese, refusals say the fields' own messages, the
account's changes show at once, the dashboard says a bad date and names what the API leaves
unnamed, and a failure of the console's own is its page, not the kit's JSON."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from services.console.dashboard import kpis
from services.console.pages import MAX_JSON_DEPTH

from .conftest import PASSWORD, console_app, csrf_of, form_fields, register, rows, sign_in


def user_id_of(browser, email: str) -> int:
    page = browser.get("/console/users", query_string={"email": email}).text
    return int(re.search(r'action="/console/users/(\d+)[?"]', page).group(1))


def sign_out(browser):
    browser.post(
        "/console/logout", data={"csrf_token": csrf_of(browser.get("/console/account").text)}
    )


def test_a_refused_list_filter_says_so_instead_of_finding_no_one(browser):
    sign_in(browser)
    refused = browser.get("/console/users?role=owner")
    found_none = browser.get("/console/users?email=nobody@example.com")
    assert refused.status_code == 422
    assert "Filtro recusado: confira o campo destacado." in refused.text
    assert "Nenhum usuário encontrado." not in refused.text
    assert "Nenhum usuário encontrado." in found_none.text


def test_a_user_change_goes_back_to_the_list_with_its_filters_only(browser):
    register(browser, email="caio@example.com", name="Caio")
    sign_out(browser)
    sign_in(browser)
    caio = user_id_of(browser, "caio@example.com")
    form = form_fields(browser.get("/console/users").text, f"active-form-{caio}")
    answer = browser.post(
        f"/console/users/{caio}?role=user&page=2&endpoint=x&_external=1&_anchor=y",
        data={**form, "active": "false"},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/users?role=user&page=2"
    assert "desativado" in browser.get("/console/users?email=caio@example.com").text


def test_a_user_change_sent_from_a_filtered_page_goes_back_to_that_page(browser):
    register(browser, email="caio@example.com", name="Caio")
    sign_out(browser)
    sign_in(browser)
    query = {"email": "caio@example.com", "role": "user", "page": "1"}
    page = browser.get("/console/users", query_string=query).text
    action = re.search(r'action="(/console/users/(\d+)[^"]*)"', page)
    form = form_fields(page, f"active-form-{action.group(2)}")
    answer = browser.post(html.unescape(action.group(1)), data={**form, "active": "false"})
    assert answer.status_code == 303
    back = urlsplit(answer.headers["Location"])
    assert (back.path, parse_qs(back.query)) == (
        "/console/users",
        {"email": ["caio@example.com"], "role": ["user"], "page": ["1"]},
    )


def test_a_refusal_naming_fields_is_flashed_with_their_messages_not_the_english_detail(browser):
    sign_in(browser)
    admin = user_id_of(browser, "root@example.com")
    form = form_fields(browser.get("/console/users").text, f"role-form-{admin}")
    # Neither a role nor `active`: auth's 422 names the body.
    del form["role"]
    answer = browser.post(f"/console/users/{admin}", data=form, follow_redirects=True)
    assert "Não foi possível alterar: Escolha um papel ou se a conta fica ativa." in answer.text
    assert "Invalid fields" not in answer.text


DEEP = "[" * 100_000 + "]" * 100_000
# Readable, but deeper than the console sends on: near Python's recursion limit, encoding it
# again for the API would overflow the stack.
DEEPER_THAN_SENT = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
NOT_FOR_A_REQUEST = {
    "deep": DEEP,
    "deeper-than-sent": DEEPER_THAN_SENT,
    "nan": '[{"price": NaN}]',
    "1e999": '[{"price": 1e999}]',
    "infinity": "[-Infinity]",
}


@pytest.mark.parametrize("text", list(NOT_FOR_A_REQUEST.values()), ids=list(NOT_FOR_A_REQUEST))
def test_an_import_no_request_can_carry_is_a_portuguese_error_on_its_field(browser, text):
    sign_in(browser)
    token = csrf_of(browser.get("/console/products/import").text)
    answer = browser.post("/console/products/import", data={"csrf_token": token, "rows": text})
    assert answer.status_code == 422
    assert "text/html" in answer.content_type
    assert re.search(r'id="rows-error"[^>]*>Não é um JSON válido', answer.text)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("delay_s", "nan"),
        ("delay_s", "1e999"),
        ("selectors", DEEP),
        ("selectors", '{"name": NaN}'),
    ],
    ids=["delay-nan", "delay-1e999", "selectors-deep", "selectors-nan"],
)
def test_a_source_no_request_can_carry_is_a_portuguese_error_on_its_field(browser, field, value):
    sign_in(browser)
    token = csrf_of(browser.get("/console/collector/sources/new").text)
    form = {"csrf_token": token, "name": "Loja", "start_urls": "https://example.com/", field: value}
    answer = browser.post("/console/collector/sources/new", data=form)
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text
    assert "indisponível" not in answer.text


@pytest.mark.parametrize(
    "key",
    ["١٢٣", "é-key", " leading", "trailing\t", "A" * 256],
    ids=["arabic-digits", "latin-1", "leading-space", "trailing-tab", "256-characters"],
)
def test_an_order_key_no_header_can_carry_is_refused_on_the_form(browser, key):
    sign_in(browser)
    token = csrf_of(browser.get("/console/orders/new").text)
    form = {"csrf_token": token, "idempotency_key": key, "client_id": "1", "product_id_1": "1"}
    answer = browser.post("/console/orders/new", data=form)
    assert answer.status_code == 422
    assert "chave de envio inválida" in answer.text
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', answer.text).group(1)
    assert fresh != key and fresh.isascii() and len(fresh) == 36


def test_an_invalid_period_date_is_a_422_said_once_next_to_its_field(browser):
    sign_in(browser)
    answer = browser.get("/console/?from=abc")
    assert answer.status_code == 422
    assert '<p id="from-error" class="error" data-field="from">Data inválida.</p>' in answer.text


def test_kpi_rows_the_api_leaves_unnamed_are_labelled_not_shown_as_none():
    answer = {
        "by_day": [],
        "top_products": [{"product_id": 1, "name": None, "units": 2, "revenue": "10.00"}],
        "by_category": [
            {"category_id": None, "name": None, "units": 2, "revenue": "10.00"},
            {"category_id": 4, "name": None, "units": 1, "revenue": "5.00"},
        ],
        "by_client": [{"client_id": 9, "name": None, "gmv": "10.00", "orders": 1}],
        "by_state": [{"state": None, "gmv": "10.00", "orders": 1}],
    }
    found, why, _ = kpis(answer)
    assert why is None
    assert [row["name"] for row in found["by_category"]] == ["Sem categoria", "Categoria 4"]
    # Products or clients not answering orders leaves a name null too: the id says who it is.
    assert found["by_client"][0]["name"] == "Cliente 9"
    assert found["by_state"][0]["state"] == "—"
    assert found["top_products"][0]["name"] == "—"
    assert "null" not in "".join(found["charts"].values())


def save_account(browser, name: str):
    """The account form as loaded, sent with this name and the right current password."""
    form = form_fields(browser.get("/console/account").text, "account-form")
    return browser.post(
        "/console/account", data={**form, "name": name, "current_password": PASSWORD}
    )


def test_saving_the_account_unchanged_says_nothing_changed(browser):
    register(browser)
    answer = save_account(browser, "Ana")
    assert answer.status_code == 422
    assert "Nada mudou" in answer.text


def test_a_new_name_shows_in_the_header_at_once_and_stays(app, browser):
    register(browser)
    answer = save_account(browser, "Ana Maria")
    assert answer.status_code == 303
    assert 'id="who">Ana Maria<' in browser.get("/console/account?saved=1").text
    [row] = rows(app)
    assert row.name == "Ana Maria"


@pytest.fixture
def failing_app(database, jwt_keys, gateway, auth_server):
    """A console with one page that fails as a bug would."""
    app = console_app(database, jwt_keys, gateway, auth_server)

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/console/broken", "broken", broken)
    app.add_url_rule("/internal/broken", "internal_broken", broken)
    return app


def test_a_failure_of_the_consoles_own_is_its_portuguese_500_page(failing_app, caplog):
    answer = failing_app.test_client().get("/console/broken")
    assert answer.status_code == 500
    assert "text/html" in answer.content_type
    assert '<h1 data-status="500">Erro interno</h1>' in answer.text
    assert "RuntimeError: a bug" in caplog.text


def test_outside_its_pages_the_console_answers_as_every_service_does(failing_app):
    client = failing_app.test_client()
    failed = client.get("/internal/broken")
    assert failed.status_code == 500 and failed.content_type == "application/problem+json"
    assert "request_id" in failed.json["detail"]
    wrong_method = client.post("/health")
    assert wrong_method.status_code == 405
    assert wrong_method.content_type == "application/problem+json"
    assert "GET" in wrong_method.headers["Allow"]
