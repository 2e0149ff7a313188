"""Choosing an order line's product by name, against the order page's stand-in for the API: the
new-order and edit forms offer active products by name and price in a <datalist> the lines' product
fields share (a bounded read, never the whole catalogue), a search by words of the name fills it
without sending the order, the product chosen is the one ordered, and a typed id still works."""

import re
from html import unescape

from . import test_order_page
from .conftest import form_fields
from .test_order_edit import sent_as_shown
from .test_order_page import CLIENT, ORDER, PRODUCT, line, product

# The order page tests' stand-in for the API, the console in front of it, and its admin's browser.
api, api_console, browser = (
    test_order_page.api,
    test_order_page.api_console,
    test_order_page.browser,
)
NEW, EDIT = "/console/orders/new", f"/console/orders/{ORDER}/edit"
CATALOGUE = [
    product(PRODUCT, "Teclado mecânico ABNT2", "199.90"),
    product(8, "Mouse sem fio", "79.00"),
    product(9, "Teclado compacto", "129.50", available=0),
    product(10, "Teclado antigo", "50.00", active=False),
]


def offered(html: str) -> list[tuple[str, str]]:
    """The products the lines offer: the datalist's options (value, label), in order."""
    found = re.search(r'<datalist id="product-choices">(.*?)</datalist>', html, re.S)
    if found is None:
        return []
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', found.group(1))
    return [(value, unescape(label)) for value, label in options]


def product_input(html: str, n: int) -> str:
    return re.search(rf'<input id="product_id_{n}"[^>]*>', html).group(0)


def hint_of(html: str, fid: str) -> str | None:
    found = re.search(rf'<small id="{fid}-hint" class="hint">([^<]*)</small>', html)
    return found and unescape(found.group(1))


def new_form(browser) -> tuple[str, dict[str, str]]:
    page = browser.get(NEW).text
    return page, {**form_fields(page, "order-form"), "client_id": str(CLIENT)}


def test_the_new_order_form_offers_the_first_active_products_in_stock_by_name_and_price(
    browser, api
):
    api.products = list(CATALOGUE)
    page, _ = new_form(browser)
    assert offered(page) == [
        ("8", "Mouse sem fio · R$ 79,00"),
        ("7", "Teclado mecânico ABNT2 · R$ 199,90"),
    ]
    # Every line's product field takes its id from the list, or typed.
    for n in (1, 2, 3):
        assert 'list="product-choices"' in product_input(page, n)
        assert 'type="text"' in product_input(page, n)  # a name typed filters the list
    # One page of products' largest, never the catalogue.
    assert {"active": "true", "available": "true", "sort": "name", "per_page": "100"} in (
        api.products_asked
    )


def test_a_product_chosen_by_name_is_the_one_the_order_is_placed_with(browser, api):
    api.products = list(CATALOGUE)
    page, form = new_form(browser)
    [chosen] = [value for value, label in offered(page) if label.startswith("Mouse sem fio")]
    answer = browser.post(NEW, data={**form, "product_id_1": chosen, "quantity_1": "2"})
    assert answer.status_code == 303
    [(body, _)] = api.placed.values()
    assert body["items"] == [{"product_id": 8, "quantity": 2}]


def test_a_product_id_typed_by_hand_still_places_the_order(browser, api):
    _, form = new_form(browser)
    answer = browser.post(NEW, data={**form, "product_id_1": str(PRODUCT)})
    assert answer.status_code == 303
    [(body, _)] = api.placed.values()
    assert body["items"] == [{"product_id": PRODUCT, "quantity": 1}]


def test_searching_by_name_offers_the_active_products_it_finds_and_sends_nothing(browser, api):
    api.products = list(CATALOGUE)
    _, form = new_form(browser)
    typed = {**form, "product_id_2": "8", "quantity_2": "3", "product_q": "teclado"}
    answer = browser.post(NEW, data={**typed, "find_products": "1"})
    assert answer.status_code == 200
    assert api.placed == {}
    # By name, out of stock said so (orders will say how many are short), the inactive left out.
    assert offered(answer.text) == [
        ("9", "Teclado compacto · R$ 129,50 · sem estoque"),
        ("7", "Teclado mecânico ABNT2 · R$ 199,90"),
    ]
    assert {"q": "teclado", "active": "true", "sort": "name", "per_page": "100"} in (
        api.products_asked
    )
    assert hint_of(answer.text, "product_q") == (
        "“teclado”: 2 produtos ativos na lista do campo Produto de cada item, por nome."
    )
    # The form as typed, the line's product named under it; choosing places the order.
    again = form_fields(answer.text, "order-form")
    assert (again["product_id_2"], again["quantity_2"], again["product_q"]) == ("8", "3", "teclado")
    assert hint_of(answer.text, "product_id_2") == "Mouse sem fio · R$ 79,00"
    placed = browser.post(NEW, data={**again, "product_id_1": "7"})
    assert placed.status_code == 303
    [(body, _)] = api.placed.values()
    assert body["items"] == [{"product_id": 7, "quantity": 1}, {"product_id": 8, "quantity": 3}]


def test_search_words_not_yet_searched_are_searched_and_the_order_not_placed(browser, api):
    """Enter in the search box sends the form's first button, "Criar pedido"."""
    api.products = list(CATALOGUE)
    _, form = new_form(browser)
    answer = browser.post(NEW, data={**form, "product_id_1": "8", "product_q": "mouse"})
    assert answer.status_code == 200
    assert api.placed == {}
    assert "Busca de produtos feita; nada foi enviado." in answer.text
    assert offered(answer.text) == [("8", "Mouse sem fio · R$ 79,00")]


def test_a_search_that_finds_nothing_says_so_and_keeps_the_form(browser, api):
    api.products = list(CATALOGUE)
    _, form = new_form(browser)
    answer = browser.post(NEW, data={**form, "product_q": "geladeira", "find_products": "1"})
    assert answer.status_code == 200
    assert offered(answer.text) == []
    assert hint_of(answer.text, "product_q") == (
        "Nenhum produto ativo encontrado com “geladeira”: tente outras palavras ou informe o id."
    )


def test_more_products_than_the_list_holds_are_said_as_the_first_hundred_of_all(browser, api):
    api.products = [product(n, f"Cabo {n:03}", "5.00") for n in range(1, 151)]
    _, form = new_form(browser)
    answer = browser.post(NEW, data={**form, "product_q": "cabo", "find_products": "1"})
    assert len(offered(answer.text)) == 100
    assert hint_of(answer.text, "product_q") == (
        "“cabo”: os 100 primeiros de 150 produtos ativos na lista do campo Produto de cada item,"
        " por nome."
    )


def test_products_not_answering_leaves_ids_to_type_and_the_order_is_placed(browser, api):
    api.products_down = True
    page, form = new_form(browser)
    assert offered(page) == []
    assert "list=" not in product_input(page, 1)
    assert hint_of(page, "product_q") == (
        "Não foi possível ler os produtos agora: informe o id de cada um."
    )
    assert browser.post(NEW, data={**form, "product_id_1": str(PRODUCT)}).status_code == 303


def test_a_refused_order_keeps_its_lines_as_typed_with_the_products_offered(browser, api):
    api.products = list(CATALOGUE)
    _, form = new_form(browser)
    # Line 2 has a quantity but no product: refused on the form, nothing placed.
    answer = browser.post(NEW, data={**form, "product_id_1": "7 ", "quantity_2": "2"})
    assert answer.status_code == 422
    assert api.placed == {}
    again = form_fields(answer.text, "order-form")
    assert (again["product_id_1"], again["quantity_2"]) == ("7 ", "2")
    assert offered(answer.text)[0] == ("8", "Mouse sem fio · R$ 79,00")


def test_the_edit_form_names_each_lines_product_and_offers_products_by_name(browser, api):
    api.products = list(CATALOGUE)
    api.order["items"] = [line(7, 2), line(9, 1)]
    page = browser.get(EDIT).text
    assert hint_of(page, "product_id_1") == "Teclado mecânico ABNT2 · R$ 199,90"
    assert hint_of(page, "product_id_2") == "Teclado compacto · R$ 129,50 · sem estoque"
    assert 'list="product-choices"' in product_input(page, 3)
    # Searched, then a line changed to a product found: saved with it.
    form = sent_as_shown(page)
    found = browser.post(EDIT, data={**form, "product_q": "mouse", "find_products": "1"})
    assert offered(found.text) == [("8", "Mouse sem fio · R$ 79,00")]
    assert api.sent == []
    saved = browser.post(EDIT, data={**sent_as_shown(found.text), "product_id_2": "8"})
    assert saved.status_code == 303
    [(_, _, body)] = api.sent
    assert body == {"items": [{"product_id": 7, "quantity": 2}, {"product_id": 8, "quantity": 1}]}
