"""Changing a pending order from the console, against the order page's stand-in for the API: the
page links to the form for who placed the order and for an admin, the form comes filled with the
order's lines, address and payment method, saving sends one PATCH of what changed (a line at 0
or emptied dropped), and the API's refusals are said in Portuguese on the form as typed."""

import re
from html import unescape

import pytest
from sqlalchemy import select

from services.auth.models import User, db

from . import test_order_page
from .conftest import csrf_of, form_fields, register
from .test_order_page import ADDRESS, CLIENT, ORDER, line
from .test_pages import sign_out

# The order page tests' stand-in for the API, the console in front of it, and its admin's browser.
api, api_console, browser = (
    test_order_page.api,
    test_order_page.api_console,
    test_order_page.browser,
)
EDIT = f"/console/orders/{ORDER}/edit"


@pytest.fixture
def pending(api):
    """The order pending, with two lines (product 7: 2 units, product 9: 1), address 120, PIX."""
    api.order["items"] = [line(7, 2), line(9, 1)]
    return api.order


def chosen(page: str, name: str) -> str | None:
    """The value a select sends: its option marked selected, else its first; None when the form
    has no such select."""
    found = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', page, re.S)
    if found is None:
        return None
    options = re.findall(r'<option value="([^"]*)"( selected)?>', found.group(1))
    return next((value for value, selected in options if selected), options[0][0])


def sent_as_shown(page: str) -> dict[str, str]:
    """The edit form as a browser sends it untouched: its inputs, and its selects' choices."""
    selects = {name: chosen(page, name) for name in ("shipping_address_id", "payment_method")}
    return {
        **form_fields(page, "order-edit-form"),
        **{name: value for name, value in selects.items() if value is not None},
    }


def edit_form(browser) -> dict[str, str]:
    return sent_as_shown(browser.get(EDIT).text)


def save(browser, **typed):
    """The edit form as loaded, with `typed` typed in, saved."""
    return browser.post(EDIT, data={**edit_form(browser), **typed})


def edit_link(html: str) -> str | None:
    found = re.search(
        r'<a class="button" id="action-edit" href="([^"]+)">Alterar o pedido</a>', html
    )
    return found and found.group(1)


def notice_of(html: str) -> str:
    found = re.search(r'<div class="notice error" role="alert">(.*?)</div>', html, re.S)
    return unescape(found.group(1)) if found else ""


def error_of(html: str, fid: str) -> str | None:
    found = re.search(rf'<p id="{fid}-error" class="error"[^>]*>([^<]*)</p>', html)
    return found and unescape(found.group(1))


def user_id(auth, email: str) -> int:
    with auth.app_context():
        found = db.session.scalar(select(User.id).where(User.email == email))
        db.session.remove()
        return found


def test_a_pending_orders_page_links_to_its_edit_form_for_who_placed_it_and_admins(
    browser, api, auth, pending
):
    assert edit_link(browser.get(f"/console/orders/{ORDER}").text) == EDIT
    api.order["status"] = "paid"
    assert edit_link(browser.get(f"/console/orders/{ORDER}").text) is None
    api.order["status"] = "pending"
    sign_out(browser)
    register(browser, email="ana@example.com")
    assert edit_link(browser.get(f"/console/orders/{ORDER}").text) is None  # not hers
    api.order["created_by"] = user_id(auth, "ana@example.com")
    assert edit_link(browser.get(f"/console/orders/{ORDER}").text) == EDIT


def test_the_edit_form_comes_filled_with_the_orders_lines_address_and_method(browser, api, pending):
    form = edit_form(browser)
    assert {key: form[key] for key in form if not key.startswith(("csrf", "orig_", "etag"))} == {
        "client_id": str(CLIENT),
        "lines": "3",
        "shipping_address_id": "120",
        "product_id_1": "7",
        "quantity_1": "2",
        "product_id_2": "9",
        "quantity_2": "1",
        "product_id_3": "",
        "quantity_3": "",
        "payment_method": "pix",
        "product_q": "",
        "product_searched": "",
    }


def address_options(html: str) -> list[str]:
    found = re.search(r'<select id="shipping_address_id"[^>]*>(.*?)</select>', html, re.S)
    assert found, "the form offers the client's addresses in a select"
    return re.findall(r"<option [^>]*>([^<]*)</option>", found.group(1))


def test_the_edit_form_offers_the_clients_addresses_the_orders_one_chosen(browser, api, pending):
    page = browser.get(EDIT).text
    assert address_options(page) == [
        "Sem endereço",
        "Rua Augusta, 1500, Apto 12 \u2013 São Paulo/SP",
    ]
    assert chosen(page, "shipping_address_id") == str(ADDRESS)
    # Removed since the order took it: still offered, by its id, so saving does not drop it.
    api.address = None
    page = browser.get(EDIT).text
    assert address_options(page) == ["Sem endereço", f"Endereço {ADDRESS}"]
    assert chosen(page, "shipping_address_id") == str(ADDRESS)


def test_the_edit_form_takes_an_address_id_when_clients_cannot_give_the_addresses(
    browser, api, pending
):
    api.clients_down = True
    page = browser.get(EDIT).text
    assert chosen(page, "shipping_address_id") is None
    assert form_fields(page, "order-edit-form")["shipping_address_id"] == str(ADDRESS)
    assert "Não foi possível ler os endereços do cliente" in page


def test_saving_sends_one_patch_of_only_what_changed_and_lands_on_the_order(browser, api, pending):
    answer = save(browser, quantity_1="3", payment_method="boleto")
    assert answer.status_code == 303
    assert answer.location == f"/console/orders/{ORDER}"
    assert api.sent == [
        (
            "PATCH",
            f"/orders/{ORDER}",
            {
                "items": [{"product_id": 7, "quantity": 3}, {"product_id": 9, "quantity": 1}],
                "payment_method": "boleto",
            },
        )
    ]
    assert f"Pedido {ORDER} alterado." in browser.get(answer.location).text
    api.sent.clear()
    assert save(browser, shipping_address_id="").status_code == 303
    assert api.sent == [("PATCH", f"/orders/{ORDER}", {"shipping_address_id": None})]


def test_a_line_at_quantity_0_or_emptied_is_dropped_from_the_order(browser, api, pending):
    api.order["items"].append(line(11, 4))
    answer = save(browser, quantity_1="0", product_id_3="", quantity_3="")
    assert answer.status_code == 303
    assert api.sent == [
        ("PATCH", f"/orders/{ORDER}", {"items": [{"product_id": 9, "quantity": 1}]})
    ]


def test_a_form_saved_as_loaded_sends_nothing_and_says_so(browser, api, pending):
    answer = save(browser)
    assert answer.status_code == 303
    assert api.sent == []
    assert "Nada foi alterado." in browser.get(answer.location).text


def test_adicionar_item_adds_a_line_keeping_what_was_typed_and_sends_nothing(browser, api, pending):
    answer = browser.post(EDIT, data={**edit_form(browser), "quantity_2": "5", "add_line": "1"})
    assert answer.status_code == 200
    form = sent_as_shown(answer.text)
    assert (form["lines"], form["quantity_2"], form["product_id_4"]) == ("4", "5", "")
    assert api.sent == []
    # The loaded values go along: saved now, only what changed is sent.
    assert browser.post(EDIT, data={**form, "product_id_4": "12"}).status_code == 303
    assert [set(body) for _, _, body in api.sent] == [{"items"}]


def test_an_order_with_every_line_dropped_is_refused_on_the_form(browser, api, pending):
    answer = save(browser, quantity_1="0", product_id_2="", quantity_2="")
    assert answer.status_code == 422
    assert error_of(answer.text, "items") == (
        "Um pedido precisa de ao menos um item; para desfazê-lo, cancele-o na página do pedido."
    )
    assert api.sent == []


REFUSALS = {
    "unknown address": (
        422,
        {
            "status": 422,
            "title": "Unprocessable Content",
            "detail": "Invalid fields: shipping_address_id",
            "errors": {"shipping_address_id": [f"Client {CLIENT} has no address 999."]},
        },
    ),
    "not pending any more": (
        409,
        {
            "status": 409,
            "title": "Conflict",
            "detail": f"Order {ORDER} is paid: only a pending order can change",
        },
    ),
    "a service down": (503, {"status": 503, "title": "Service Unavailable", "detail": "x"}),
}
SAID = {
    "unknown address": "Confira os campos destacados.",
    "not pending any more": f"O pedido {ORDER} está pago: só um pedido pendente pode mudar",
    "a service down": "Não foi possível saber se o pedido foi alterado",
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refusal_is_said_in_portuguese_on_the_form_kept_as_typed(browser, api, pending, refusal):
    api.patch_answer = REFUSALS[refusal]
    answer = save(browser, shipping_address_id="999", quantity_2="4")
    assert answer.status_code == REFUSALS[refusal][0]
    assert SAID[refusal] in notice_of(answer.text)
    form = sent_as_shown(answer.text)
    assert (form["shipping_address_id"], form["quantity_2"]) == ("999", "4")
    assert form["orig_shipping_address_id"] == "120"  # still the form as it was loaded
    if refusal == "unknown address":
        assert (
            error_of(answer.text, "shipping_address_id")
            == f"O cliente {CLIENT} não tem o endereço 999."
        )
        assert unescape(answer.text).count('href="#shipping_address_id"') == 1  # the summary


def test_a_short_line_is_said_under_its_quantity(browser, api, pending):
    short = [{"product_id": 9, "requested": 6, "available": 2}]
    problem = {
        "status": 409,
        "title": "Conflict",
        "detail": "Not enough stock to reserve: products 9",
        "short": short,
    }
    api.patch_answer = (409, problem)
    answer = save(browser, quantity_2="6")
    assert answer.status_code == 409
    assert error_of(answer.text, "quantity_2") == "Produto 9: 6 pedidos, 2 disponíveis"
    assert "Estoque insuficiente: confira as quantidades." in notice_of(answer.text)


CHANGED = "O pedido mudou desde que o formulário foi aberto: confira e salve de novo."


def test_an_order_changed_since_the_form_was_loaded_comes_back_as_it_is_now_nothing_sent_again(
    browser, api, pending
):
    form = {**edit_form(browser), "quantity_1": "5"}
    api.order["items"].append(line(11, 3))  # another tab adds a line meanwhile
    answer = browser.post(EDIT, data=form)
    assert answer.status_code == 412
    assert notice_of(answer.text) == CHANGED
    assert [(item["product_id"], item["quantity"]) for item in api.order["items"]] == [
        (7, 2),
        (9, 1),
        (11, 3),
    ]
    assert len(api.sent) == 1  # the one PATCH orders refused
    shown = sent_as_shown(answer.text)
    assert (shown["quantity_1"], shown["product_id_3"], shown["quantity_3"]) == ("2", "11", "3")
    # The form as it is now carries the order's tag as it is now: saved, it goes through.
    assert browser.post(EDIT, data={**shown, "quantity_1": "5"}).status_code == 303
    assert [(item["product_id"], item["quantity"]) for item in api.order["items"]] == [
        (7, 5),
        (9, 1),
        (11, 3),
    ]


def test_the_form_sent_twice_lands_on_the_order_both_times(browser, api, pending):
    """The second sending carries the tag the first one made stale (orders' 412): the order
    already holds what it sends, so it went through, and the console says so."""
    form = {**edit_form(browser), "quantity_1": "5"}
    answers = [browser.post(EDIT, data=form) for _ in range(2)]
    assert [(a.status_code, a.location) for a in answers] == [(303, f"/console/orders/{ORDER}")] * 2
    body = {"items": [{"product_id": 7, "quantity": 5}, {"product_id": 9, "quantity": 1}]}
    assert api.sent == [("PATCH", f"/orders/{ORDER}", body)] * 2


@pytest.mark.parametrize("etag", ['W/"x\ny"', ""], ids=["unsendable", "emptied"])
def test_a_forged_tag_no_header_can_carry_sends_nothing_and_shows_the_order_as_it_is(
    browser, api, pending, etag
):
    """An emptied tag too: a PATCH without If-Match would overwrite what changed since."""
    answer = save(browser, etag=etag, quantity_1="5")
    assert answer.status_code == 412
    assert notice_of(answer.text) == CHANGED
    assert api.sent == []


def test_an_addresses_read_refused_for_another_reason_than_clients_not_answering_is_an_error(
    browser, api, pending
):
    """A refusal that is not clients being unable to answer (its 422 for a page the console
    asks wrong) is the error page, not an address id to type forever."""
    detail = "Invalid fields: per_page"
    api.addresses_refused = {"status": 422, "title": "Unprocessable Content", "detail": detail}
    answer = browser.get(EDIT)
    assert answer.status_code == 422
    assert 'id="order-edit-form"' not in answer.text


def test_a_user_who_did_not_place_the_order_is_sent_back_to_it_and_a_forged_save_refused(
    browser, api, pending
):
    form = edit_form(browser)
    sign_out(browser)
    register(browser, email="ana@example.com")
    answer = browser.get(EDIT)
    assert answer.status_code == 303 and answer.location == f"/console/orders/{ORDER}"
    page = browser.get(answer.location).text
    assert "Só quem fez o pedido, ou um administrador, pode alterá-lo." in unescape(page)
    # A form sent all the same is the API's to refuse: its 403, and the order unchanged.
    token = csrf_of(browser.get("/console/orders/new").text)
    answer = browser.post(EDIT, data={**form, "csrf_token": token, "quantity_1": "5"})
    assert answer.status_code == 403
    assert "Só quem fez o pedido, ou um administrador, pode alterá-lo" in unescape(answer.text)
    assert api.order["items"][0]["quantity"] == 2


def test_a_product_on_a_line_past_the_hundredth_is_refused_not_dropped(browser, api, pending):
    answer = save(browser, lines="101", product_id_101="9", quantity_101="7")
    assert answer.status_code == 422
    assert "Um pedido tem no máximo 100 itens." in notice_of(answer.text)
    assert api.sent == []


def test_the_edit_form_of_an_order_no_longer_pending_goes_back_to_its_page_saying_why(
    browser, api, pending
):
    api.order["status"] = "paid"
    answer = browser.get(EDIT)
    assert answer.status_code == 303
    assert answer.location == f"/console/orders/{ORDER}"
    page = browser.get(answer.location).text
    assert f"O pedido {ORDER} não está mais pendente: não pode ser alterado." in unescape(page)
