"""A form the server sends back refused says so where a screen reader looks (GOV.UK's error
summary): "Erro: " before the page's title, a summary first in main, focused as the page loads,
linking each refused field by its id (the new order's lines too) in the words said under it; a
field's hint is read with its error, not replaced by it.
And a wide list scrolls inside its own box on a phone, not the whole page."""

import re
from html import unescape

from flask import render_template_string

from . import test_order_page, test_sales
from .conftest import console_with_api, csrf_of, form_fields, sign_in, signed_in_admin

# The order page tests' stand-in for the API and the console in front of it (fixtures).
api, api_console = test_order_page.api, test_order_page.api_console
PRODUCT = test_order_page.PRODUCT


def title_of(page: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1))


def summary_of(page: str) -> str | None:
    """The error summary, when it is the first thing in main."""
    found = re.search(
        r'<main id="main">\s*(<div class="error-summary" id="error-summary".*?</ul>)', page, re.S
    )
    return found and found.group(1)


def summary_links(page: str) -> dict[str, str]:
    """Each link of the summary: the id it points at, and its words."""
    return {
        target: unescape(text)
        for target, text in re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary_of(page) or "")
    }


def described_by(page: str, fid: str) -> list[str]:
    tag = re.search(rf'<input id="{fid}"[^>]*>', page).group(0)
    found = re.search(r'aria-describedby="([^"]*)"', tag)
    return found.group(1).split() if found else []


def test_a_refused_sign_up_says_erro_in_its_title_and_focuses_a_summary_linking_each_field(
    browser,
):
    page = browser.get("/console/register").text
    answer = browser.post(
        "/console/register",
        data={
            "name": "Ana",
            "email": "não é e-mail",
            "password": "curta",
            "csrf_token": csrf_of(page),
        },
    )
    assert answer.status_code == 422
    assert title_of(answer.text) == "Erro: Criar conta · Feira"
    summary = summary_of(answer.text)
    assert summary is not None, "the summary is the first thing in main"
    assert 'tabindex="-1" autofocus' in summary
    assert "<h2>Há um problema</h2>" in summary
    links = summary_links(answer.text)
    assert set(links) == {"email", "password"}
    for fid, words in links.items():
        under = re.search(rf'<p id="{fid}-error" class="error"[^>]*>([^<]*)</p>', answer.text)
        assert words == unescape(under.group(1)), "the summary says what the field says"


def test_a_refused_fields_hint_is_still_read_with_its_error(browser):
    page = browser.get("/console/register").text
    assert described_by(page, "password") == ["password-hint"]
    answer = browser.post(
        "/console/register",
        data={
            "name": "Ana",
            "email": "ana@example.com",
            "password": "curta",
            "csrf_token": csrf_of(page),
        },
    )
    assert described_by(answer.text, "password") == ["password-hint", "password-error"]
    assert described_by(answer.text, "email") == []


def test_the_account_page_sums_up_its_refused_field_and_a_page_not_refused_has_no_summary(
    browser,
):
    sign_in(browser)
    page = browser.get("/console/account").text
    assert title_of(page) == "Minha conta · Feira"
    assert 'id="error-summary"' not in page
    answer = browser.post(
        "/console/account",
        data={"name": "Root", "current_password": "", "csrf_token": csrf_of(page)},
    )
    assert answer.status_code == 422
    assert title_of(answer.text) == "Erro: Minha conta · Feira"
    assert summary_links(answer.text) == {"current_password": "Campo obrigatório."}


def test_the_summary_links_a_field_by_its_forms_prefix_and_says_a_selects_own_names(
    api_console, auth, api
):
    api.reset()
    admin = signed_in_admin(api_console, auth)
    page = admin.get(f"/console/stock/{PRODUCT}").text
    form = {**form_fields(page, "movement-form"), "quantity": "-3", "reason": "sale"}
    answer = admin.post(f"/console/stock/{PRODUCT}/movements", data=form)
    assert answer.status_code == 422
    assert summary_links(answer.text) == {
        "movement-reason": "Deve ser um destes: Recebimento, Ajuste, Devolução, Avaria."
    }


def test_a_product_no_line_of_a_new_order_holds_is_linked_to_the_lines_group(
    database, jwt_keys, auth, auth_server
):
    sales = test_sales.Api()
    sales.answers["/orders"] = (
        409,
        {
            "status": 409,
            "title": "Conflict",
            "detail": "Not enough stock to reserve: products 8",
            "errors": {"items": ["Not enough stock for products 8"]},
            "short": [{"product_id": 8, "requested": 1, "available": 0}],
        },
    )
    orders = ("/orders",)
    with console_with_api(database, jwt_keys, auth, auth_server, sales.app, orders) as console:
        admin = signed_in_admin(console, auth)
        page = admin.get("/console/orders/new").text
        form = {**form_fields(page, "order-form"), "client_id": "3", "product_id_1": "1"}
        answer = admin.post("/console/orders/new", data=form)
    assert answer.status_code == 409
    assert summary_links(answer.text) == {"items": "Produto 8: 1 pedidos, 0 disponíveis"}
    group = re.search(r'<div id="items"[^>]*>', answer.text).group(0)
    assert 'tabindex="-1"' in group, "the link moves focus to the lines"
    assert 'aria-describedby="items-error"' in group
    assert '<p id="items-error" class="error" data-field="items">' in answer.text


def test_the_summary_says_the_words_an_error_was_given_not_what_the_page_looks_like(app):
    """The summary lists what said_error was given as the page rendered: an error paragraph
    written another way is linked in its own words; a paragraph that only looks like one (no
    macro said it) is not."""
    page = (
        '{% extends "base.html" %}{% block main %}'
        '<p id="note-error" class="error" data-field="note">Só parece um erro.</p>'
        '<p class="error"><strong>{{ said_error("price", "Deve ser maior que 0.") }}</strong></p>'
        "{% endblock %}"
    )
    with app.test_request_context("/console/"):
        html = render_template_string(page, errors={"price": ["Must be greater than 0."]})
    assert summary_links(html) == {"price": "Deve ser maior que 0."}
    assert "<strong>Deve ser maior que 0.</strong>" in html


def test_a_wide_list_scrolls_inside_its_own_named_box_not_the_page(api_console, auth, api):
    api.reset()
    admin = signed_in_admin(api_console, auth)
    for path, box in (("/console/users", "Usuários"), (f"/console/stock/{PRODUCT}", "Movimentos")):
        page = admin.get(path).text
        tables = re.findall(r'(<div class="scroll"[^>]*>)?\s*<table class="list"', page)
        assert tables == [f'<div class="scroll" role="region" aria-label="{box}" tabindex="0">']
    api.payments = [test_order_page.paid_by_card()]
    order = admin.get(f"/console/orders/{test_order_page.ORDER}").text
    boxes = re.findall(r'(<div class="scroll"[^>]*>)?\s*<table class="list"', order)
    assert boxes == [
        f'<div class="scroll" role="region" aria-label="{box}" tabindex="0">'
        for box in ("Itens", "Pagamentos")
    ]
