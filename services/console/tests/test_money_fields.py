"""The console's two money fields, the product's price and a refund's amount, read money as it
is typed in Brazil (19,90 · 1.234,56 · 1234, or 19.90 as before) and send the API its decimal
string; what cannot be read without a guess (1.234: a thousand, or three decimals?) is refused
under the field, as typed, and nothing is sent. Against the real products, orders and payments
behind the gateway stand-in, as test_refunds.py serves them."""

import re

import pytest

from services.products.ean import check_digit

from . import test_refunds as refunding
from .conftest import console_with_api, csrf_of, form_fields, sign_in
from .test_catalogue_writes import Form
from .test_refunds import Services, payment_of, refund

# The services and the paid order test_refunds.py serves (fixtures, used by name).
browser, paid, payments, clients, products, inventory, orders, standin = (
    refunding.browser,
    refunding.paid,
    refunding.payments,
    refunding.clients,
    refunding.products,
    refunding.inventory,
    refunding.orders,
    refunding.standin,
)

ACCEPTED = [
    ("19,90", "19.90"),
    ("1.234,56", "1234.56"),
    ("1234,5", "1234.50"),
    ("1234", "1234.00"),
    ("1.234.567", "1234567.00"),
    ("19.90", "19.90"),
    ("R$ 1.234,56", "1234.56"),
    (" 19,9 ", "19.90"),
]
UNREADABLE = ["1.234", "1,2,3", "12.34,5", "19,905"]
SAID = (
    "Não dá para ler este valor sem adivinhar: escreva-o como 19,90 ou 1.234,56 (vírgula antes"
    " dos centavos, ponto só entre milhares)."
)


@pytest.fixture(scope="module")
def console(database, jwt_keys, auth, auth_server, orders, payments, products):
    """The console in front of orders and payments (for the order page) and products."""
    services = Services(orders.app, payments)
    services.routes += (
        ("/products", products.app.wsgi_app),
        ("/categories", products.app.wsgi_app),
    )
    with console_with_api(
        database,
        jwt_keys,
        auth,
        auth_server,
        services,
        ("/orders", "/payments", "/products", "/categories"),
    ) as served:
        yield served


def new_product(browser, price: str):
    page = browser.get("/console/products/new").text
    code = "789000000099"  # not the barcode of the product `paid` makes
    return browser.post(
        "/console/products/new",
        data={
            "csrf_token": csrf_of(page),
            "name": "Café",
            "price": price,
            "barcode": code + check_digit(code),
            "active": "on",
        },
    )


def catalogue(products, admin) -> list[dict]:
    return products.app.test_client().get("/products", headers=admin).json["items"]


def under(html: str, field: str) -> str | None:
    """The message under a form's field."""
    found = re.search(
        rf'<p id="[^"]*{field}-error" class="error" data-field="{field}">([^<]*)', html
    )
    return found and found.group(1)


def typed_in(html: str, field: str) -> str | None:
    found = re.search(rf'name="{field}" type="text" value="([^"]*)"', html)
    return found and found.group(1)


@pytest.mark.parametrize(("typed", "sent"), ACCEPTED)
def test_a_price_typed_the_brazilian_way_is_the_products_price(
    browser, products, admin, typed, sent
):
    sign_in(browser)
    answer = new_product(browser, typed)
    assert answer.status_code == 303, under(answer.text, "price")
    [made] = catalogue(products, admin)
    assert made["price"] == sent


@pytest.mark.parametrize("typed", UNREADABLE)
def test_a_price_that_cannot_be_read_without_a_guess_is_refused_under_it_and_nothing_is_made(
    browser, products, admin, typed
):
    sign_in(browser)
    answer = new_product(browser, typed)
    assert answer.status_code == 422
    assert under(answer.text, "price") == SAID
    assert typed_in(answer.text, "price") == typed
    assert catalogue(products, admin) == []


def test_a_products_price_edited_the_brazilian_way_is_saved_and_an_unreadable_one_is_refused(
    browser, products, admin
):
    sign_in(browser)
    made = new_product(browser, "19,90")
    form = Form(browser.get(made.headers["Location"]).text, "product-form").values
    assert form["price"] == "19.90"  # as the API gives it, which reads as it did
    refused = browser.post(made.headers["Location"], data={**form, "price": "1.234"})
    assert refused.status_code == 422
    assert under(refused.text, "price") == SAID
    assert typed_in(refused.text, "price") == "1.234"
    assert [p["price"] for p in catalogue(products, admin)] == ["19.90"]
    saved = browser.post(made.headers["Location"], data={**form, "price": "R$ 1.234,5"})
    assert saved.status_code == 303
    assert [p["price"] for p in catalogue(products, admin)] == ["1234.50"]


@pytest.mark.parametrize(
    ("typed", "sent"),
    [("19,90", "19.90"), ("R$ 10,5", "10.50"), ("30", "30.00"), ("19.9", "19.90")],
)
def test_a_refund_typed_the_brazilian_way_gives_back_that_amount(
    browser, paid, payments, admin, typed, sent
):
    order_id, payment_id = paid
    sign_in(browser)
    answer = refund(browser, order_id, payment_id, typed)
    assert answer.status_code == 303
    assert payment_of(payments, admin, payment_id) == ("partially_refunded", sent)


@pytest.mark.parametrize("typed", UNREADABLE)
def test_a_refund_that_cannot_be_read_without_a_guess_is_refused_under_it_and_refunds_nothing(
    browser, paid, payments, admin, typed
):
    order_id, payment_id = paid
    sign_in(browser)
    page = browser.get(f"/console/orders/{order_id}").text
    answer = refund(browser, order_id, payment_id, typed, page)
    assert answer.status_code == 422
    assert under(answer.text, "amount") == SAID
    shown = form_fields(answer.text, f"refund-{payment_id}")
    assert shown["amount"] == typed
    assert shown["idempotency_key"] == form_fields(page, f"refund-{payment_id}")["idempotency_key"]
    assert payment_of(payments, admin, payment_id) == ("succeeded", "0.00")


def test_the_money_fields_hint_the_brazilian_way(browser, paid):
    order_id, _ = paid
    sign_in(browser)
    assert 'class="hint">Ex.: 19,90</small>' in browser.get("/console/products/new").text
    assert "Ex.: 19,90. Em branco" in browser.get(f"/console/orders/{order_id}").text
