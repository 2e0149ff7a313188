"""The forms that add something (a stock movement, a client's address, a refund, an order) carry
a key of their own, sent as the API's Idempotency-Key: a form submitted twice (a double click, a
retry) is one request to the API, which answers the second with the first's result; a form whose
answer did not come is shown again with its key, so sending it again cannot add a second one. The
API behind the gateway is a stand-in that records what it was sent."""

import re
import time
from pathlib import Path

import pytest
from flask import Flask, request

from services.console import sales

from .conftest import console_with_api, csrf_of, signed_in_admin

PRODUCT, CLIENT, ORDER, PAYMENT = 7, 3, 5, 9


class Api:
    """Inventory, clients, products, an order and its payment as the stock, client and order
    pages read them; the POSTs it receives are recorded with their Idempotency-Key."""

    def __init__(self):
        self.posts: list[tuple[str, str | None]] = []
        # What each key was first sent with: the same key with another body is the kit's 409.
        self.bodies: dict[str | None, object] = {}
        # The next POST is carried out, but answered with this status (its answer lost behind
        # the gateway), after `slow` seconds; `down`: every read answers 503; `gone`: every read
        # answers 404, and is counted in `gone_reads`.
        self.lost: int | None = None
        self.slow = 0.0
        self.down = False
        self.gone = False
        self.gone_reads = 0
        # How many entries the lists (the stock ledger, the addresses) say they have, so that
        # their pagers show.
        self.total = 0
        app = self.app = Flask("api")
        page = {"items": [], "total": 0, "page": 1, "per_page": 20}

        @app.before_request
        def reads_down():
            if self.down and request.method == "GET":
                problem = {"status": 503, "title": "Service Unavailable"}
                return problem, 503, {"Content-Type": "application/problem+json"}
            if self.gone and request.method == "GET":
                self.gone_reads += 1
                problem = {"status": 404, "title": "Not Found", "detail": "Not found"}
                return problem, 404, {"Content-Type": "application/problem+json"}

        @app.get(f"/inventory/stock/{PRODUCT}")
        def stock():
            return {
                "product_id": PRODUCT,
                "on_hand": 10,
                "reserved": 0,
                "available": 10,
                "reorder_level": 0,
                "updated_at": "2026-12-01T10:00:00+00:00",
            }

        @app.get("/products")
        def products():
            teclado = {"id": PRODUCT, "name": "Teclado", "price": "10.00", "available_quantity": 10}
            return {**page, "items": [teclado], "total": 1}

        @app.get(f"/clients/{CLIENT}")
        def client():
            return {
                "id": CLIENT,
                "name": "Maria",
                "email": "maria@example.com",
                "cpf": "454.090.000-56",
                "balance": "0.00",
                "phone": None,
                "whatsapp_opt_in": False,
                "created_at": "2026-12-01T10:00:00+00:00",
            }

        @app.get(f"/orders/{ORDER}")
        def order():
            return {
                "id": ORDER,
                "client_id": CLIENT,
                "status": "paid",
                "total": "60.50",
                "payment_method": "credit_card",
                "shipping_address_id": None,
                "created_at": "2026-12-01T10:00:00+00:00",
                "items": [],
                "history": [],
            }

        @app.get("/payments")
        def payments():
            payment = {
                "id": PAYMENT,
                "order_id": ORDER,
                "method": "card",
                "status": "succeeded",
                "amount": "60.50",
                "refunded_amount": "0.00",
            }
            return {**page, "items": [payment], "total": 1}

        @app.get(f"/inventory/stock/{PRODUCT}/movements")
        @app.get(f"/clients/{CLIENT}/addresses")
        def listing():
            return {**page, "total": self.total}

        @app.post(f"/inventory/stock/{PRODUCT}/movements")
        @app.post(f"/clients/{CLIENT}/addresses")
        @app.post("/orders")
        @app.post(f"/payments/{PAYMENT}/refund")
        def create():
            key = request.headers.get("Idempotency-Key")
            self.posts.append((request.path, key))
            sent = (request.path, request.get_json())
            if self.bodies.setdefault(key, sent) != sent:
                problem = {
                    "type": "https://feira.dev/problems/conflict",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "This Idempotency-Key was used with another body",
                    "key_reused": True,
                    "resource_id": 1,  # what the key made: the API always names it
                }
                return problem, 409, {"Content-Type": "application/problem+json"}
            time.sleep(self.slow)
            if self.lost:
                self.lost, status = None, self.lost
                problem = {"status": status, "title": "Gateway Timeout"}
                return problem, status, {"Content-Type": "application/problem+json"}
            if request.path.endswith("/refund"):
                return {"id": PAYMENT, "status": "partially_refunded", "refunded_amount": "5.00"}
            return {"id": 1}, 201


@pytest.fixture(scope="module")
def api(auth):
    return Api()


@pytest.fixture(scope="module")
def api_console(database, jwt_keys, auth, auth_server, api):
    prefixes = ("/inventory/", "/clients/", "/products", "/orders", "/payments")
    with console_with_api(database, jwt_keys, auth, auth_server, api.app, prefixes) as console:
        yield console


@pytest.fixture
def browser(api_console, auth, api):
    api.posts.clear()
    api.bodies.clear()
    api.lost, api.slow, api.down, api.total = None, 0.0, False, 0
    api.gone, api.gone_reads = False, 0
    browser = signed_in_admin(api_console, auth)
    return browser


def key_of(html: str, form: str) -> str:
    found = re.search(rf'id="{form}".*?name="idempotency_key" value="([^"]+)"', html, re.S)
    assert found, f"the {form} carries its key"
    return found.group(1)


FORMS = {
    "movement": (
        f"/console/stock/{PRODUCT}",
        "movement-form",
        f"/console/stock/{PRODUCT}/movements",
        {"quantity": "5", "reason": "receipt"},
    ),
    "address": (
        f"/console/clients/{CLIENT}",
        "address-form",
        f"/console/clients/{CLIENT}/addresses",
        {"street": "Rua A", "number": "1", "city": "São Paulo", "state": "SP", "cep": "01001-000"},
    ),
    "refund": (
        f"/console/orders/{ORDER}",
        f"refund-{PAYMENT}",
        f"/console/orders/{ORDER}/payments/{PAYMENT}/refund",
        {"amount": "5.00"},
    ),
}
KEYED_FORMS = {
    **FORMS,
    "order": (
        "/console/orders/new",
        "order-form",
        "/console/orders/new",
        {"client_id": str(CLIENT), "product_id_1": str(PRODUCT), "quantity_1": "1"},
    ),
}


@pytest.mark.parametrize("name", FORMS)
def test_a_form_submitted_twice_sends_its_one_key_both_times(browser, api, name):
    shown, form_id, action, fields = FORMS[name]
    page = browser.get(shown).text
    key = key_of(page, form_id)
    form = {**fields, "csrf_token": csrf_of(page), "idempotency_key": key}
    assert [browser.post(action, data=form).status_code for _ in range(2)] == [303, 303]
    assert [sent for _, sent in api.posts] == [key, key]
    assert key_of(browser.get(shown).text, form_id) != key  # the next form is another request


@pytest.mark.parametrize("name", FORMS)
def test_a_form_key_no_header_can_carry_is_refused_and_nothing_is_sent(browser, api, name):
    shown, form_id, action, fields = FORMS[name]
    page = browser.get(shown).text
    form = {**fields, "csrf_token": csrf_of(page), "idempotency_key": "é-key"}
    answer = browser.post(action, data=form)
    assert answer.status_code == 422 and "chave de envio inválida" in answer.text
    fresh = key_of(answer.text, form_id)
    assert fresh != "é-key" and len(fresh) == 36
    assert api.posts == []


@pytest.mark.parametrize("name", KEYED_FORMS)
def test_a_form_resent_changed_with_its_spent_key_comes_back_with_a_new_key_and_says_so(
    browser, api, name
):
    """The first submit went through; the form, changed, is sent again with the same key: the
    API's 409 for that key is no field's fault, and the form's next submit needs a new key."""
    shown, form_id, action, fields = KEYED_FORMS[name]
    page = browser.get(shown).text
    key = key_of(page, form_id)
    form = {**fields, "csrf_token": csrf_of(page), "idempotency_key": key}
    assert browser.post(action, data=form).status_code == 303
    changed = {**form, next(iter(fields)): "2"}
    answer = browser.post(action, data=changed)
    assert answer.status_code == 409
    assert "Este formulário já tinha sido enviado com outros dados" in answer.text
    assert "This Idempotency-Key" not in answer.text
    fresh = key_of(answer.text, form_id)
    assert fresh != key and len(fresh) == 36
    assert browser.post(action, data={**changed, "idempotency_key": fresh}).status_code == 303
    assert [sent for _, sent in api.posts] == [key, key, fresh]


def typed_in(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" type="[^"]*" value="([^"]*)"', html)
    return found and found.group(1)


def send_unanswered(browser, name: str):
    """The form sent once, its answer not come: the page it came back as, and its key."""
    shown, form_id, action, fields = KEYED_FORMS[name]
    page = browser.get(shown).text
    key = key_of(page, form_id)
    form = {**fields, "csrf_token": csrf_of(page), "idempotency_key": key}
    return browser.post(action, data=form), form, key


@pytest.mark.parametrize("name", KEYED_FORMS)
def test_a_form_whose_answer_was_lost_comes_back_with_its_key_and_sent_again_adds_one(
    browser, api, name
):
    """The write was carried out behind the gateway, which answered 504: the form comes back
    with what was typed and the key it was sent with, and sending it again is the first one's
    answer, not a second order, movement or address."""
    _, form_id, action, fields = KEYED_FORMS[name]
    api.lost = 504
    answer, form, key = send_unanswered(browser, name)
    assert answer.status_code == 503
    assert "Não foi possível saber se" in answer.text
    assert "Enviar o formulário de novo é seguro" in answer.text
    assert "Gateway Timeout" not in answer.text
    assert key_of(answer.text, form_id) == key
    for field, value in fields.items():
        if field != "reason":  # a select: what the form's macro shows is tested elsewhere
            assert typed_in(answer.text, field) == value
    assert browser.post(action, data=form).status_code == 303
    assert [sent for _, sent in api.posts] == [key, key]


def test_a_form_the_console_stopped_waiting_for_comes_back_with_its_key(browser, api, monkeypatch):
    monkeypatch.setattr(sales, "KEYED_WRITE_TIMEOUT_S", 0.2)
    api.slow = 0.6
    answer, form, key = send_unanswered(browser, "order")
    assert answer.status_code == 503
    assert "Não foi possível saber se o pedido foi criado" in answer.text
    assert key_of(answer.text, "order-form") == key
    api.slow = 0.0
    assert browser.post("/console/orders/new", data=form).status_code == 303
    assert [sent for _, sent in api.posts] == [key, key]


def test_a_keyed_write_waits_longer_than_a_read(browser, api, api_console, monkeypatch):
    """An order may take longer than the reads' CONSOLE_API_TIMEOUT_S: the console waits for
    it as long as the gateway does, rather than saying its result is not known."""
    monkeypatch.setitem(api_console.config, "CONSOLE_API_TIMEOUT_S", 0.2)
    api.slow = 0.6
    answer, _, key = send_unanswered(browser, "order")
    assert answer.status_code == 303
    assert [sent for _, sent in api.posts] == [key]


@pytest.mark.parametrize("name", FORMS)
def test_a_form_whose_page_cannot_be_read_either_is_offered_to_send_again_as_it_was(
    browser, api, name
):
    shown, form_id, action, fields = FORMS[name]
    page = browser.get(shown).text
    key = key_of(page, form_id)
    form = {**fields, "csrf_token": csrf_of(page), "idempotency_key": key}
    api.lost, api.down = 502, True
    answer = browser.post(action, data=form)
    assert answer.status_code == 503
    assert "Não foi possível saber se" in answer.text
    assert key_of(answer.text, form_id) == key
    for field, value in fields.items():
        assert f'name="{field}" value="{value}"' in answer.text
    api.down = False
    assert browser.post(action, data=form).status_code == 303
    assert [sent for _, sent in api.posts] == [key, key]


@pytest.mark.parametrize("spent", [False, True], ids=["unusable-key", "spent-key"])
@pytest.mark.parametrize("name", FORMS)
def test_a_form_whose_page_is_gone_when_shown_again_is_that_page_s_404_not_a_refusal(
    browser, api, name, spent
):
    """The form's key is refused (no header can carry it, or it was spent on other data) and the
    page that would show the form again answers 404 (its product, client or order gone
    meanwhile): that 404 is the answer, its page read once, and not said as the API refusing
    what the form sent."""
    shown, form_id, action, fields = FORMS[name]
    page = browser.get(shown).text
    form = {**fields, "csrf_token": csrf_of(page), "idempotency_key": key_of(page, form_id)}
    if spent:
        assert browser.post(action, data=form).status_code == 303
        form[next(iter(fields))] = "2"
    else:
        form["idempotency_key"] = "é-key"
    api.gone = True
    answer = browser.post(action, data=form)
    assert answer.status_code == 404
    assert 'data-status="404"' in answer.text
    assert "Não foi possível reembolsar" not in answer.text
    assert api.gone_reads == 1


def test_a_refused_movement_shown_again_pages_the_ledger_on_the_stock_page(browser, api):
    """The page comes back from the form's POST-only URL: its pager must not link there (a 405)."""
    api.total = 45
    page = browser.get(f"/console/stock/{PRODUCT}").text
    form = {"quantity": "5", "reason": "receipt", "csrf_token": csrf_of(page)}
    refused = browser.post(
        f"/console/stock/{PRODUCT}/movements", data={**form, "idempotency_key": "é"}
    )
    assert refused.status_code == 422
    [following] = re.findall(r'href="([^"]*page=2[^"]*)"', refused.text)
    assert following.startswith(f"/console/stock/{PRODUCT}?")
    assert browser.get(following.replace("&amp;", "&")).status_code == 200


def test_a_keyed_write_gives_up_before_the_gateway_in_front_of_the_console_does():
    """The browser's request to the console goes through the gateway too: were the console to wait
    longer than the gateway's read timeout, the browser would get the gateway's 504 page, and the
    form and its key would be lost."""
    upstreams = Path(__file__).parents[3] / "gateway" / "templates" / "upstreams.conf.j2"
    [gateway_timeout] = re.findall(r"proxy_read_timeout (\d+)s;", upstreams.read_text())
    assert int(gateway_timeout) > sales.KEYED_WRITE_TIMEOUT_S
