"""The orders and clients pages against a stand-in for the API that records what it was sent: a
user edits a client without touching the phone they see masked, the new-order form shows each
refused item under its own line, the order page says its history in Portuguese, the orders
list offers the API's filters, and a client's addresses are paged."""

import re

import jwt
import pytest
from flask import Flask, request

from services.console.sales import MAX_ORDER_LINES
from services.orders.schemas import MAX_LINES

from .conftest import (
    PASSWORD,
    console_with_api,
    csrf_of,
    emptied_with_the_admin,
    form_fields,
    register,
    sign_in,
)
from .test_pages import sign_out

CLIENT, PRODUCT, ORDER = 3, 7, 12
PHONE, MASKED = "+5511912345678", "+55 11 9****-5678"
MARIA = {
    "id": CLIENT,
    "name": "Maria",
    "email": "maria@example.com",
    "cpf": "454.090.000-56",
    "balance": "0.00",
    "phone": PHONE,
    "whatsapp_opt_in": True,
    "created_at": "2026-12-01T10:00:00+00:00",
}


def role_of() -> str:
    """The caller's role, from the token the console sent (auth signed it: read, not checked)."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return jwt.decode(token, options={"verify_signature": False})["role"]


class Api:
    """Clients and orders as the console's pages read them. It keeps every write it receives
    (`sent`: method, path, body) and the queries of the orders list (`listed`, which lists
    `orders`); `answers` holds what a POST or DELETE to a path answers instead of a 201 (status,
    body). The client (`client`) takes what a PATCH sends, and has `addresses` addresses (ids 1
    to n), paged as the API pages them."""

    def __init__(self):
        self.sent: list[tuple[str, str, object]] = []
        self.listed: list[dict] = []
        self.answers: dict[str, tuple[int, dict]] = {}
        self.history: list[dict] = []
        self.orders: list[dict] = []
        self.addresses = 0
        self.client = dict(MARIA)
        app = self.app = Flask("api")
        page = {"items": [], "total": 0, "page": 1, "per_page": 20}

        @app.get(f"/clients/{CLIENT}")
        def client():
            phone = self.client["phone"]
            return {**self.client, "phone": MASKED if phone and role_of() != "admin" else phone}

        @app.patch(f"/clients/{CLIENT}")
        def change_client():
            body = request.get_json()
            self.sent.append((request.method, request.path, body))
            # As clients does: consent is for a number, withdrawn when it changes.
            if "phone" in body and "whatsapp_opt_in" not in body:
                body = {**body, "whatsapp_opt_in": False}
            self.client.update(body)
            return self.client

        @app.get(f"/clients/{CLIENT}/addresses")
        def addresses():
            number = int(request.args.get("page", 1))
            per_page = int(request.args.get("per_page", 20))
            ids = range(1, self.addresses + 1)[(number - 1) * per_page : number * per_page]
            items = [
                {"id": n, "street": f"Rua {n}", "number": "1", "complement": None}
                | {"city": "São Paulo", "state": "SP", "cep": "01001-000"}
                for n in ids
            ]
            return {"items": items, "total": self.addresses, "page": number, "per_page": per_page}

        @app.get("/payments")
        @app.get("/categories")
        def listing():
            return page

        @app.get("/orders")
        def orders():
            self.listed.append(request.args.to_dict())
            return {**page, "items": self.orders, "total": len(self.orders)}

        @app.get(f"/orders/{ORDER}")
        def order():
            return {
                "id": ORDER,
                "client_id": CLIENT,
                "status": "paid",
                "total": "10.00",
                "payment_method": "pix",
                "shipping_address_id": None,
                "created_at": "2026-12-01T10:00:00+00:00",
                "items": [],
                "history": self.history,
            }

        @app.get(f"/products/{PRODUCT}")
        def product():
            return {
                "id": PRODUCT,
                "name": "Teclado",
                "price": "10.00",
                "available_quantity": 3,
                "barcode": "7891234567895",
                "active": True,
                "images": [],
            }

        @app.post(f"/clients/{CLIENT}/addresses")
        @app.delete(f"/clients/{CLIENT}/addresses/<int:address_id>")
        @app.post("/orders")
        @app.post(f"/orders/{ORDER}/status")
        @app.delete(f"/clients/{CLIENT}")
        def write(**_ids):
            self.sent.append((request.method, request.path, request.get_json(silent=True)))
            done = (204, "") if request.method == "DELETE" else (201, {"id": ORDER})
            status, body = self.answers.get(request.path, done)
            headers = {"Content-Type": "application/problem+json"} if status >= 400 else {}
            return body, status, headers


@pytest.fixture(scope="module")
def api(auth):
    return Api()


@pytest.fixture(scope="module")
def api_console(database, jwt_keys, auth, auth_server, api):
    prefixes = ("/clients/", "/orders", "/payments", "/products/", "/categories")
    with console_with_api(database, jwt_keys, auth, auth_server, api.app, prefixes) as console:
        yield console


@pytest.fixture
def browser(api_console, auth, api):
    api.sent.clear()
    api.listed.clear()
    api.answers.clear()
    api.history.clear()
    api.orders.clear()
    api.addresses = 0
    api.client = dict(MARIA)
    return emptied_with_the_admin(api_console, auth)


def as_user(browser):
    """Signed in as a plain user (role `user`), who reads a client's phone masked."""
    register(browser, email="ana@example.com", name="Ana")
    return browser


def input_of(html: str, fid: str) -> str:
    found = re.search(rf'<input id="{fid}"[^>]*>', html)
    assert found, f"the page has the input {fid}"
    return found.group(0)


# --- a client's notifications ---


def notifications_link(html: str) -> str | None:
    found = re.search(
        r'<a href="([^"]+)" id="client-notifications">Notificações do cliente</a>', html
    )
    return found and found.group(1).replace("&amp;", "&")


def test_an_admin_reaches_the_clients_notifications_from_their_page_and_a_user_is_not_offered_it(
    browser,
):
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}").text
    assert notifications_link(page) == f"/console/notifications?client_id={CLIENT}"
    sign_out(browser)
    as_user(browser)  # users cannot read notifications (the page is the admin's)
    assert notifications_link(browser.get(f"/console/clients/{CLIENT}").text) is None


# --- a client's phone ---


def save_client(browser, page: str | None = None, **fields):
    """The client form, loaded now (or as `page` showed it), sent with `fields` changed (None
    unchecks a box)."""
    page = page or browser.get(f"/console/clients/{CLIENT}").text
    form = {**form_fields(page, "client-form"), "name": "Maria Souza", **fields}
    sent = {name: value for name, value in form.items() if value is not None}
    return browser.post(f"/console/clients/{CLIENT}", data=sent)


def test_a_user_sees_the_masked_phone_as_a_hint_not_as_the_fields_value(browser):
    page = as_user(browser).get(f"/console/clients/{CLIENT}").text
    phone = input_of(page, "client-phone")
    assert 'value=""' in phone
    assert MASKED in page
    assert 'name="remove_phone"' in page


def test_a_user_saving_a_client_with_the_phone_left_empty_keeps_the_phone(browser, api):
    answer = save_client(as_user(browser), phone="", whatsapp_opt_in="on")
    assert answer.status_code == 303
    [(method, path, body)] = api.sent
    assert (method, path) == ("PATCH", f"/clients/{CLIENT}")
    assert body == {"name": "Maria Souza"}
    assert api.client["phone"] == PHONE


def test_a_user_removes_the_phone_with_its_own_box(browser, api):
    assert save_client(as_user(browser), phone="", remove_phone="on").status_code == 303
    [(_, _, body)] = api.sent
    assert body["phone"] is None


def test_a_user_typing_a_new_phone_sends_it(browser, api):
    assert save_client(as_user(browser), phone="(11) 98888-7777").status_code == 303
    [(_, _, body)] = api.sent
    assert body["phone"] == "(11) 98888-7777"


def test_a_new_phone_saved_with_the_consent_box_ticked_says_the_consent_was_withdrawn(browser, api):
    api.client["whatsapp_opt_in"] = True
    answer = save_client(as_user(browser), phone="(11) 98888-7777", whatsapp_opt_in="on")
    assert answer.status_code == 303
    [(_, _, body)] = api.sent
    assert body == {"name": "Maria Souza", "phone": "(11) 98888-7777"}
    page = browser.get(answer.headers["Location"]).text
    assert "consentimento para o WhatsApp, dado para o número antigo, foi retirado" in page
    assert " checked" not in input_of(page, "client-whatsapp_opt_in")


def test_a_new_phone_and_the_removal_box_together_are_refused_on_the_form(browser, api):
    answer = save_client(as_user(browser), phone="(11) 98888-7777", remove_phone="on")
    assert answer.status_code == 422
    assert 'id="client-phone-error"' in answer.text
    assert api.sent == []


def test_an_admin_sees_the_whole_phone_and_an_emptied_field_clears_it(browser, api):
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}").text
    assert f'value="{PHONE}"' in input_of(page, "client-phone")
    assert 'name="remove_phone"' not in page
    assert save_client(browser, phone="").status_code == 303
    [(_, _, body)] = api.sent
    assert body["phone"] is None


def test_consent_withdrawn_after_the_form_was_loaded_stays_withdrawn_when_it_is_saved(browser, api):
    sign_in(browser)
    loaded = browser.get(f"/console/clients/{CLIENT}").text
    assert " checked" in input_of(loaded, "client-whatsapp_opt_in")
    # Another staffer, told by the client, withdraws the consent through the API.
    withdrawn = api.app.test_client().patch(f"/clients/{CLIENT}", json={"whatsapp_opt_in": False})
    assert withdrawn.status_code == 200
    answer = save_client(browser, loaded, name="Maria", email="maria.souza@example.com")
    assert answer.status_code == 303
    assert api.sent[-1][2] == {"email": "maria.souza@example.com"}
    assert api.client["whatsapp_opt_in"] is False
    assert api.client["email"] == "maria.souza@example.com"


def test_unchecking_the_consent_box_withdraws_it_and_sends_nothing_else(browser, api):
    sign_in(browser)
    assert save_client(browser, name="Maria", whatsapp_opt_in=None).status_code == 303
    [(_, _, body)] = api.sent
    assert body == {"whatsapp_opt_in": False}


def test_a_client_form_saved_unchanged_sends_nothing(browser, api):
    sign_in(browser)
    answer = save_client(browser, name="Maria")
    assert answer.status_code == 303
    assert api.sent == []


# --- e-mail fields ---


def email_input(html: str, fid: str) -> str:
    assert 'type="email"' not in html, "no input the browser checks as an ASCII-only address"
    return input_of(html, fid)


def test_email_fields_take_an_accented_address_that_the_api_validates(browser):
    for path in ("/console/login", "/console/register"):
        field = email_input(browser.get(path).text, "email")
        assert 'type="text"' in field and 'inputmode="email"' in field
    sign_in(browser)
    for path, fid in (
        ("/console/clients/new", "email"),
        (f"/console/clients/{CLIENT}", "client-email"),
    ):
        field = email_input(browser.get(path).text, fid)
        assert 'type="text"' in field and 'inputmode="email"' in field
        assert 'autocomplete="off"' in field, "not the staffer's own address"


def test_an_accented_address_signs_up_and_in_through_the_console(browser):
    register(browser, email="joão@exemplo.com.br", name="João")
    sign_out(browser)
    answer = sign_in(browser, email="joão@exemplo.com.br", password=PASSWORD)
    assert answer.status_code == 303, answer.text
    assert "João" in browser.get("/console/").text


# --- a new order's lines ---


def place_order(browser, **lines):
    page = browser.get("/console/orders/new").text
    form = {"csrf_token": csrf_of(page), "idempotency_key": "k-1", "client_id": str(CLIENT)}
    return browser.post("/console/orders/new", data={**form, **lines})


def error_of(html: str, fid: str) -> str | None:
    found = re.search(rf'<p id="{fid}-error" class="error"[^>]*>([^<]*)</p>', html)
    return found and found.group(1)


def test_a_line_with_a_quantity_but_no_product_is_refused_under_its_product_field(browser, api):
    sign_in(browser)
    answer = place_order(browser, product_id_1="7", quantity_1="1", quantity_2="2")
    assert answer.status_code == 422
    assert (
        error_of(answer.text, "product_id_2")
        == "Informe o produto deste item ou apague a quantidade."
    )
    assert api.sent == []


def test_a_product_the_api_says_does_not_exist_is_said_under_its_line(browser, api):
    api.answers["/orders"] = (
        422,
        {
            "status": 422,
            "title": "Unprocessable Entity",
            "detail": "Invalid fields: items",
            "errors": {"items": ["Product 99 does not exist.", "Product 5 is not active."]},
        },
    )
    sign_in(browser)
    answer = place_order(browser, product_id_1="7", product_id_2="99", product_id_3="5")
    assert answer.status_code == 422
    assert error_of(answer.text, "product_id_2") == "O produto 99 não existe."
    assert error_of(answer.text, "product_id_3") == "O produto 5 não está ativo."
    assert 'data-field="items"' not in answer.text


def test_a_short_line_is_said_under_its_quantity_and_a_product_on_no_line_above_them(browser, api):
    short = [
        {"product_id": 7, "requested": 5, "available": 2},
        {"product_id": 8, "requested": 1, "available": 0},
    ]
    api.answers["/orders"] = (
        409,
        {
            "status": 409,
            "title": "Conflict",
            "detail": "Not enough stock to reserve: products 7, 8",
            "errors": {"items": ["Not enough stock for products 7, 8"]},
            "short": short,
        },
    )
    sign_in(browser)
    answer = place_order(browser, product_id_1="1", product_id_2="7", quantity_2="5")
    assert answer.status_code == 409
    assert error_of(answer.text, "quantity_2") == "Produto 7: 5 pedidos, 2 disponíveis"
    assert error_of(answer.text, "items") == "Produto 8: 1 pedidos, 0 disponíveis"
    assert "Estoque insuficiente" in answer.text


def add_a_line(browser, page: str, **typed) -> str:
    """The new-order form as `page` shows it, with `typed` filled in, sent by "Adicionar item"."""
    form = {**form_fields(page, "order-form"), **typed, "add_line": "1"}
    answer = browser.post("/console/orders/new", data=form)
    assert answer.status_code == 200, answer.text
    return answer.text


def lines_of(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<fieldset id="line-(\d+)">', html)]


def test_an_order_of_five_products_is_placed_with_the_lines_added_on_the_form(browser, api):
    sign_in(browser)
    page = browser.get("/console/orders/new").text
    assert lines_of(page) == [1, 2, 3]
    typed = {"client_id": str(CLIENT), "product_id_1": "11", "quantity_1": "1"}
    typed |= {"product_id_2": "12", "product_id_3": "13", "quantity_3": "3"}
    page = add_a_line(browser, page, **typed)
    assert lines_of(page) == [1, 2, 3, 4]
    assert api.sent == []
    page = add_a_line(browser, page, product_id_4="14")
    assert lines_of(page) == [1, 2, 3, 4, 5]
    assert 'value="13"' in input_of(page, "product_id_3")
    assert 'value="3"' in input_of(page, "quantity_3")

    form = {**form_fields(page, "order-form"), "product_id_5": "15", "quantity_5": "5"}
    answer = browser.post("/console/orders/new", data=form)
    assert answer.status_code == 303
    [(method, path, body)] = api.sent
    assert (method, path) == ("POST", "/orders")
    assert body["items"] == [
        {"product_id": 11, "quantity": 1},
        {"product_id": 12, "quantity": 1},
        {"product_id": 13, "quantity": 3},
        {"product_id": 14, "quantity": 1},
        {"product_id": 15, "quantity": 5},
    ]


def test_a_refused_order_comes_back_with_the_lines_it_had(browser, api):
    sign_in(browser)
    page = add_a_line(browser, browser.get("/console/orders/new").text)
    form = {**form_fields(page, "order-form"), "client_id": str(CLIENT), "quantity_4": "2"}
    answer = browser.post("/console/orders/new", data=form)
    assert answer.status_code == 422
    assert lines_of(answer.text) == [1, 2, 3, 4]
    assert (
        error_of(answer.text, "product_id_4")
        == "Informe o produto deste item ou apague a quantidade."
    )


def test_the_form_adds_lines_up_to_the_apis_bound_on_an_orders_items(browser, api):
    assert MAX_ORDER_LINES == MAX_LINES
    sign_in(browser)
    page = browser.get("/console/orders/new").text
    page = add_a_line(browser, page, lines=str(MAX_ORDER_LINES - 1))
    assert len(lines_of(page)) == MAX_ORDER_LINES
    assert 'name="add_line"' not in page
    again = add_a_line(browser, page)
    assert len(lines_of(again)) == MAX_ORDER_LINES
    assert f"no máximo {MAX_ORDER_LINES} itens" in again
    tampered = add_a_line(browser, page, lines="100000")
    assert len(lines_of(tampered)) == MAX_ORDER_LINES
    assert api.sent == []


def test_a_new_orders_product_on_a_line_past_the_hundredth_is_refused_not_dropped(browser, api):
    sign_in(browser)
    page = browser.get("/console/orders/new").text
    form = {**form_fields(page, "order-form"), "client_id": str(CLIENT)}
    form |= {"product_id_1": "11", "lines": "101", "product_id_101": "15", "quantity_101": "7"}
    answer = browser.post("/console/orders/new", data=form)
    assert answer.status_code == 422
    assert f"Um pedido tem no máximo {MAX_ORDER_LINES} itens." in answer.text
    assert api.sent == []


@pytest.mark.parametrize("line", ["²", "1" * 5000, "0101"], ids=["superscript", "huge", "padded"])
def test_a_forged_line_number_is_no_500(browser, api, line):
    sign_in(browser)
    page = browser.get("/console/orders/new").text
    form = {**form_fields(page, "order-form"), "client_id": str(CLIENT), "product_id_1": "11"}
    answer = browser.post("/console/orders/new", data={**form, f"product_id_{line}": "15"})
    assert answer.status_code < 500


# --- an order's page ---


def step(status: str, by) -> dict:
    return {"status": status, "at": "2026-12-01T10:00:00+00:00", "by": by, "note": None}


def history_of(html: str) -> list[str]:
    found = re.search(r'<ol class="history" id="history">(.*?)</ol>', html, re.S)
    return re.findall(r"· por ([^<·]+?)(?: ·|</li>)", found.group(1))


def test_the_history_names_services_in_portuguese_and_users_as_the_admin_knows_them(browser, api):
    register(browser, email="ana@example.com", name="Ana")
    sign_out(browser)
    sign_in(browser)
    api.history.extend([step("pending", 2), step("paid", "payments"), step("cancelled", "clients")])
    page = browser.get(f"/console/orders/{ORDER}").text
    assert history_of(page) == ["Ana", "Pagamentos", "Clientes"]


def test_a_user_reads_their_own_name_in_the_history_and_another_users_id(browser, api):
    as_user(browser)
    api.history.extend([step("pending", 1), step("cancelled", 2)])
    page = browser.get(f"/console/orders/{ORDER}").text
    assert history_of(page) == ["Usuário #1", "Ana"]


def test_a_status_change_is_said_with_the_statuss_portuguese_word(browser, api):
    sign_in(browser)
    token = csrf_of(browser.get(f"/console/orders/{ORDER}").text)
    answer = browser.post(
        f"/console/orders/{ORDER}/status",
        data={"csrf_token": token, "status": "shipped"},
        follow_redirects=True,
    )
    assert api.sent == [("POST", f"/orders/{ORDER}/status", {"status": "shipped"})]
    assert f"Pedido {ORDER}: enviado." in answer.text
    assert "shipped." not in answer.text


FAILED = {
    "status": 500,
    "title": "Internal Server Error",
    "detail": "An unexpected error occurred; quote the request_id when reporting it",
}


def change_status(browser):
    sign_in(browser)
    token = csrf_of(browser.get(f"/console/orders/{ORDER}").text)
    return browser.post(
        f"/console/orders/{ORDER}/status", data={"csrf_token": token, "status": "shipped"}
    )


def request_id_on(html: str) -> str | None:
    found = re.search(r'Código do pedido: <span id="request-id">([^<]*)</span>', html)
    return found and found.group(1)


def test_an_api_failure_shows_the_request_id_its_problem_gives(browser, api):
    api.answers[f"/orders/{ORDER}/status"] = (500, {**FAILED, "request_id": "4f1d2c3b"})
    answer = change_status(browser)
    assert answer.status_code == 500
    assert '<h1 data-status="500">Erro interno</h1>' in answer.text
    assert "informe o código do pedido ao relatá-lo" in answer.text
    assert request_id_on(answer.text) == "4f1d2c3b"


def test_a_failure_whose_problem_has_no_request_id_shows_the_consoles_own(browser, api):
    api.answers[f"/orders/{ORDER}/status"] = (500, FAILED)
    answer = change_status(browser)
    assert answer.status_code == 500
    assert request_id_on(answer.text) == answer.headers["X-Request-ID"]


# --- the orders list ---


def test_the_orders_list_filters_by_product_and_category_as_the_api_does(browser, api):
    sign_in(browser)
    page = browser.get("/console/orders", query_string={"product_id": "7", "category_id": "2"})
    assert page.status_code == 200
    assert api.listed[-1]["product_id"] == "7" and api.listed[-1]["category_id"] == "2"
    assert 'value="7"' in input_of(page.text, "product_id")
    assert 'value="2"' in input_of(page.text, "category_id")


def test_a_products_page_links_to_the_orders_with_that_product(browser):
    sign_in(browser)
    page = browser.get(f"/console/products/{PRODUCT}").text
    assert f'href="/console/orders?product_id={PRODUCT}">Pedidos com este produto</a>' in page


# --- a client's addresses ---

ADDRESS = {"street": "Rua B", "number": "2", "city": "São Paulo", "state": "SP", "cep": "01001-000"}


def addresses_on(html: str) -> list[int]:
    table = re.search(r'<table class="list" id="addresses">.*?</table>', html, re.S).group(0)
    return [int(n) for n in re.findall(r"<td>(\d+)</td>\s*<td><form", table)]


def addresses_pager(html: str) -> dict[str, str]:
    """The addresses' pager's links, by their rel (prev, next)."""
    pattern = r'<nav class="pager" aria-label="Paginação dos endereços">.*?</nav>'
    nav = re.search(pattern, html, re.S)
    assert nav, "the addresses have their pager"
    return {rel: href for href, rel in re.findall(r'<a href="([^"]+)" rel="(\w+)"', nav[0])}


def test_a_clients_addresses_past_the_first_hundred_are_reached_through_their_own_pager(
    browser, api
):
    api.addresses = 105
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}").text
    assert addresses_on(page) == list(range(1, 21))
    assert "Página 1 de 6 (105 no total)" in page
    assert addresses_pager(page) == {"next": f"/console/clients/{CLIENT}?addresses_page=2"}

    last = browser.get(f"/console/clients/{CLIENT}?addresses_page=6").text
    assert addresses_on(last) == list(range(101, 106))
    assert addresses_pager(last) == {"prev": f"/console/clients/{CLIENT}?addresses_page=5"}


def test_a_clients_addresses_are_written_as_the_order_page_writes_one(browser, api):
    api.addresses = 1
    sign_in(browser)
    table = re.search(
        r'<table class="list" id="addresses">.*?</table>',
        browser.get(f"/console/clients/{CLIENT}").text,
        re.S,
    ).group(0)
    assert re.findall(r"<tr><td>([^<]*)</td>", table) == ["Rua 1, 1 · São Paulo/SP · CEP 01001-000"]


def test_removing_an_address_on_a_later_page_goes_back_to_that_page(browser, api):
    api.addresses = 45
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}?addresses_page=3").text
    action = f"/console/clients/{CLIENT}/addresses/41/delete?addresses_page=3"
    assert f'action="{action}"' in page
    answer = browser.post(action, data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    assert answer.location == f"/console/clients/{CLIENT}?addresses_page=3"
    assert api.sent == [("DELETE", f"/clients/{CLIENT}/addresses/41", None)]


def test_a_refused_address_shown_again_pages_the_addresses_on_the_client_page(browser, api):
    api.addresses = 45
    api.answers[f"/clients/{CLIENT}/addresses"] = (
        422,
        {"status": 422, "title": "Unprocessable Entity", "errors": {"cep": ["Invalid CEP."]}},
    )
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}?addresses_page=2").text
    action = f"/console/clients/{CLIENT}/addresses?addresses_page=2"
    assert f'action="{action}"' in page
    form = {"csrf_token": csrf_of(page), "idempotency_key": "k-1", **ADDRESS}
    answer = browser.post(action, data=form)
    assert answer.status_code == 422
    assert addresses_on(answer.text) == list(range(21, 41))
    assert addresses_pager(answer.text) == {
        "prev": f"/console/clients/{CLIENT}?addresses_page=1",
        "next": f"/console/clients/{CLIENT}?addresses_page=3",
    }


def test_an_added_address_is_said_by_its_id(browser, api):
    api.answers[f"/clients/{CLIENT}/addresses"] = (201, {"id": 46, **ADDRESS})
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}").text
    form = {"csrf_token": csrf_of(page), "idempotency_key": "k-1", **ADDRESS}
    answer = browser.post(f"/console/clients/{CLIENT}/addresses", data=form, follow_redirects=True)
    assert "Endereço 46 adicionado." in answer.text


# --- a new order from a client's page ---


def test_a_new_order_from_a_clients_page_offers_their_addresses_and_keeps_them_when_refused(
    browser, api
):
    api.addresses = 2
    sign_in(browser)
    client_page = browser.get(f"/console/clients/{CLIENT}").text
    assert f'href="/console/orders/new?client_id={CLIENT}">Novo pedido</a>' in client_page
    page = browser.get(f"/console/orders/new?client_id={CLIENT}").text
    field = input_of(page, "client_id")
    assert f'value="{CLIENT}"' in field and "readonly" in field
    assert options_of(page, "shipping_address_id") == [
        ("", "Sem endereço"),
        ("1", "Rua 1, 1 \u2013 São Paulo/SP"),
        ("2", "Rua 2, 1 \u2013 São Paulo/SP"),
    ]
    api.answers["/orders"] = (
        422,
        {
            "status": 422,
            "title": "Unprocessable Entity",
            "detail": "Invalid fields: items",
            "errors": {"items": ["Product 99 does not exist."]},
        },
    )
    form = {**form_fields(page, "order-form"), "shipping_address_id": "2", "product_id_1": "99"}
    answer = browser.post(f"/console/orders/new?client_id={CLIENT}", data=form)
    assert answer.status_code == 422
    assert ("2", "Rua 2, 1 \u2013 São Paulo/SP") in options_of(
        answer.text, "shipping_address_id", selected=True
    )
    [(_, _, body)] = api.sent
    assert (body["client_id"], body["shipping_address_id"]) == (CLIENT, 2)


def test_a_client_clients_cannot_give_leaves_the_new_order_form_with_ids_to_type(browser, api):
    sign_in(browser)
    page = browser.get("/console/orders/new?client_id=99").text
    assert 'value="99"' in input_of(page, "client_id")
    assert "readonly" not in input_of(page, "client_id")
    assert 'type="number"' in input_of(page, "shipping_address_id")
    assert "Não foi possível ler os endereços do cliente" in page


def options_of(html: str, name: str, selected: bool = False) -> list[tuple[str, str]]:
    """The select's options (value, text); only the chosen one with `selected`."""
    found = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"the page has the select {name}"
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', found.group(1))
    return [(value, text) for value, chosen, text in options if chosen or not selected]


# --- deleting a client ---


def delete_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" class="danger" id="action-delete-client">', html)
    return found and found.group(1)


def open_order(order_id: int, status: str) -> dict:
    return {
        "id": order_id,
        "client_id": CLIENT,
        "status": status,
        "total": "10.00",
        "created_at": "2026-12-01T10:00:00+00:00",
    }


def open_orders_on(html: str) -> list[str]:
    found = re.search(r'<ul id="open-orders">(.*?)</ul>', html, re.S)
    return re.findall(r'<a href="(/console/orders/\d+)">', found.group(1)) if found else []


def test_only_the_admin_is_offered_to_delete_a_client(browser, api):
    sign_in(browser)
    assert delete_link(browser.get(f"/console/clients/{CLIENT}").text) == (
        f"/console/clients/{CLIENT}/delete"
    )
    sign_out(browser)
    page = as_user(browser).get(f"/console/clients/{CLIENT}").text
    assert delete_link(page) is None
    assert browser.get(f"/console/clients/{CLIENT}/delete").status_code == 403


def test_the_deletion_page_says_what_goes_and_lists_the_clients_open_orders(browser, api):
    api.orders = [open_order(40, "pending"), open_order(41, "shipped")]
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}/delete").text
    assert "O cliente, os endereços e os favoritos dele são apagados de vez" in page
    assert "Os pedidos dele ficam" in page
    assert open_orders_on(page) == ["/console/orders/40", "/console/orders/41"]
    assert api.listed[-1]["client_id"] == str(CLIENT)
    assert api.listed[-1]["status"] == "pending,paid,shipped"
    assert api.sent == []


def test_deleting_a_client_lands_on_the_clients_list_saying_so(browser, api):
    sign_in(browser)
    page = browser.get(f"/console/clients/{CLIENT}/delete").text
    form = form_fields(page, "delete-client")
    answer = browser.post(f"/console/clients/{CLIENT}/delete", data=form)
    assert answer.status_code == 303
    assert answer.location == "/console/clients"
    assert api.sent == [("DELETE", f"/clients/{CLIENT}", None)]
    assert f"Cliente {CLIENT} excluído." in browser.get(answer.location).text


def test_a_client_with_open_orders_is_not_deleted_and_the_page_says_why_listing_them(browser, api):
    api.orders = [open_order(40, "pending"), open_order(41, "paid")]
    api.answers[f"/clients/{CLIENT}"] = (
        409,
        {
            "status": 409,
            "title": "Conflict",
            "detail": f"Client {CLIENT} has 2 open (pending, paid or shipped) orders",
            "errors": {"client_id": ["The client has open orders."]},
        },
    )
    sign_in(browser)
    form = form_fields(browser.get(f"/console/clients/{CLIENT}/delete").text, "delete-client")
    answer = browser.post(f"/console/clients/{CLIENT}/delete", data=form)
    assert answer.status_code == 409
    assert (
        "Não foi possível excluir o cliente: O cliente 3 tem 2 pedidos em aberto (pendentes,"
        " pagos ou enviados)"
    ) in answer.text
    assert open_orders_on(answer.text) == ["/console/orders/40", "/console/orders/41"]


def test_a_client_already_deleted_lands_on_the_list_saying_so(browser, api):
    api.answers[f"/clients/{CLIENT}"] = (404, {"status": 404, "title": "Not Found"})
    sign_in(browser)
    form = form_fields(browser.get(f"/console/clients/{CLIENT}/delete").text, "delete-client")
    answer = browser.post(f"/console/clients/{CLIENT}/delete", data=form)
    assert answer.status_code == 303
    assert answer.location == "/console/clients"
    assert f"O cliente {CLIENT} já foi excluído." in browser.get(answer.location).text
