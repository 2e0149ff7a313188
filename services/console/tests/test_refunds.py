"""Refunding a payment from the order page, against the real orders and payments (with clients,
products and inventory behind orders, and the Stripe stand-in behind payments) reached through
the gateway stand-in: the admin refunds part of a payment and then the rest, a user is offered no
form, an amount the API refuses is said in Portuguese and refunds nothing, a form sent twice
refunds once, and a `refunded` payment whose refund failed at the provider is offered the form
again (while something is left) and says why it needs review, where the admin marks it reviewed
(a reason replaced since the page was shown is said, and the new one shown); the admin's list
of the payments waiting for review."""

import html as html_module
import re

import pytest
from sqlalchemy import select

from services.kit.testing import LiveServer, build_app, deliver, truncate_all, unreachable_url
from services.payments import create_app as create_payments_app
from services.payments.models import Refund, db
from services.payments.tests import conftest as paying
from services.payments.tests.conftest import (
    CPFS,
    SECRET_KEY,
    WEBHOOK_SECRET,
    eventually,
    standin_post,
)
from services.products.ean import check_digit

from .conftest import ADMIN, console_with_api, csrf_of, form_fields, register, sign_in
from .test_pages import sign_out

# The services behind payments, served as the payments suite serves them (fixtures).
clients, products, inventory, orders, standin = (
    paying.clients,
    paying.products,
    paying.inventory,
    paying.orders,
    paying.standin,
)


class Services:
    """Orders and payments behind the one gateway stand-in, each under its own path."""

    def __init__(self, orders_app, payments_app):
        self.routes = (("/orders", orders_app.wsgi_app), ("/payments", payments_app.wsgi_app))

    def wsgi_app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        for prefix, app in self.routes:
            if path.startswith(prefix):
                return app(environ, start_response)
        raise AssertionError(f"no service for {path}")


@pytest.fixture(scope="module")
def payments(database, jwt_keys, orders, standin):
    app = build_app(
        create_payments_app,
        "payments",
        database,
        jwt_keys,
        SERVICE_URLS={"orders": orders.base_url},
        HTTP_RETRIES=0,
        PAYMENTS_PROVIDER_URL=standin.url,
        PAYMENTS_PROVIDER_SECRET_KEY=SECRET_KEY,
        PAYMENTS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PAYMENTS_PROVIDER_RETRIES=0,
    )
    server = LiveServer(app).start()
    standin.webhook_url = f"{server.base_url}/payments/webhooks/stripe"
    yield app
    server.stop()


@pytest.fixture(scope="module")
def console(database, jwt_keys, auth, auth_server, orders, payments):
    services = Services(orders.app, payments)
    with console_with_api(
        database, jwt_keys, auth, auth_server, services, ("/orders", "/payments")
    ) as served:
        yield served


@pytest.fixture
def browser(console, auth, payments, orders, clients, products, inventory, standin):
    from services.auth.accounts import ensure_admin

    # A webhook of the last test arriving now would write the tables being emptied.
    standin.quiet()
    for each in (console, auth, payments, orders.app, clients.app, products.app, inventory.app):
        truncate_all(each)
    with auth.app_context():
        ensure_admin(*ADMIN)
    return console.test_client()


@pytest.fixture
def paid(request, browser, payments, orders, clients, products, inventory, user, admin):
    """An order of 2 units at 30.25 paid by card (60.50, `succeeded`): (order id, payment id).
    The card is the stand-in's `pm_card_visa`, or the one a test gives (indirect parameter)."""
    order_id = placed_order(orders, clients, products, inventory, user, admin)
    payment = payments.test_client().post(
        "/payments",
        json={
            "order_id": order_id,
            "method": "card",
            "payment_method": getattr(request, "param", "pm_card_visa"),
        },
        headers=user,
    )
    assert payment.status_code == 201 and payment.json["status"] == "succeeded", payment.json
    return order_id, payment.json["id"]


def placed_order(orders, clients, products, inventory, user, admin) -> int:
    """A pending order of 2 units at 30.25 (60.50) for a new client: its id."""
    buyer = clients.app.test_client().post(
        "/clients",
        json={"name": "Maria", "email": "maria@example.com", "cpf": CPFS[0]},
        headers=user,
    )
    assert buyer.status_code == 201, buyer.json
    product = products.app.test_client().post(
        "/products",
        json={
            "name": "Teclado",
            "price": "30.25",
            "barcode": "789000000001" + check_digit("789000000001"),
        },
        headers=admin,
    )
    assert product.status_code == 201, product.json
    stocked = deliver(
        inventory.app, "product.created", {"product_id": product.json["id"], "initial_stock": 10}
    )
    assert stocked.status_code == 200
    placed = orders.app.test_client().post(
        "/orders",
        json={
            "client_id": buyer.json["id"],
            "items": [{"product_id": product.json["id"], "quantity": 2}],
        },
        headers=user,
    )
    assert placed.status_code == 201, placed.json
    return placed.json["id"]


def payment_of(payments, admin, payment_id: int) -> tuple[str, str]:
    """The payment as payments keeps it: (status, refunded_amount)."""
    found = payments.test_client().get(f"/payments/{payment_id}", headers=admin).json
    return found["status"], found["refunded_amount"]


def refund(browser, order_id: int, payment_id: int, amount: str, page: str | None = None):
    """The refund form of the order page (as loaded now, or as `page` showed it), sent with
    `amount` typed."""
    page = page or browser.get(f"/console/orders/{order_id}").text
    sent = {**form_fields(page, f"refund-{payment_id}"), "amount": amount}
    return browser.post(f"/console/orders/{order_id}/payments/{payment_id}/refund", data=sent)


def test_an_admin_refunds_part_of_a_payment_and_then_all_that_is_left(
    browser, paid, payments, admin
):
    order_id, payment_id = paid
    sign_in(browser)
    page = browser.get(f"/console/orders/{order_id}").text
    assert f'for="refund-{payment_id}-amount">Valor a reembolsar (R$)</label>' in page
    assert "Em branco: todo o restante, R$ 60,50." in page

    answer = refund(browser, order_id, payment_id, "20.50", page)
    assert answer.status_code == 303
    assert payment_of(payments, admin, payment_id) == ("partially_refunded", "20.50")
    page = browser.get(answer.headers["Location"]).text
    assert f"Pagamento {payment_id}: estornado em parte, R$ 20,50 reembolsados no total." in page
    assert "Em branco: todo o restante, R$ 40,00." in page

    answer = refund(browser, order_id, payment_id, "", page)
    assert answer.status_code == 303
    assert payment_of(payments, admin, payment_id) == ("refunded", "60.50")
    page = browser.get(answer.headers["Location"]).text
    assert f"Pagamento {payment_id}: estornado, R$ 60,50 reembolsados no total." in page
    assert form_fields(page, f"refund-{payment_id}") is None  # nothing is left to refund


def test_a_pix_paid_short_offers_to_refund_what_the_provider_received(
    browser, payments, orders, clients, products, inventory, user, admin, standin
):
    order_id = placed_order(orders, clients, products, inventory, user, admin)
    pix = payments.test_client().post(
        "/payments", json={"order_id": order_id, "method": "pix"}, headers=user
    )
    assert pix.status_code == 201, pix.json
    ref = pix.json["provider_ref"]
    short = standin_post(standin, f"/payment_intents/{ref}/pay", {"amount_received": 6000})
    assert short.status_code == 200, short.text
    eventually(lambda: read_payment(payments, admin, pix.json["id"])["status"] == "succeeded")
    sign_in(browser)
    page = browser.get(f"/console/orders/{order_id}").text
    # The order's total is 60.50; the payer paid 60.00, all a refund can give back.
    assert "Em branco: todo o restante, R$ 60,00." in page


def test_a_user_is_offered_no_refund_and_the_consoles_route_refuses_them(
    browser, paid, payments, admin
):
    order_id, payment_id = paid
    sign_in(browser)
    refused_to_a_user(browser, order_id, f"refund-{payment_id}", f"payments/{payment_id}/refund")
    assert payment_of(payments, admin, payment_id) == ("succeeded", "0.00")


def refused_to_a_user(browser, order_id: int, form_id: str, action: str) -> str:
    """The admin's form `form_id` on the order's page, then a user signed in instead: the page
    offers them no such form, and the admin's form posted to `action` (under the order's path) is
    the console's own refusal (admin_only), not the API's 403 passed on. The user's page."""
    form = form_fields(browser.get(f"/console/orders/{order_id}").text, form_id)
    assert form is not None
    sign_out(browser)
    register(browser)
    page = browser.get(f"/console/orders/{order_id}")
    assert page.status_code == 200
    assert form_fields(page.text, form_id) is None
    answer = browser.post(
        f"/console/orders/{order_id}/{action}", data={**form, "csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 403
    assert "Esta página é só para administradores." in html_module.unescape(answer.text)
    return page.text


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        ("0", "Deve ser maior que 0."),
        ("60,51", "Restam no máximo R$ 60,50 para estornar."),
    ],
)
def test_an_amount_the_api_refuses_is_said_in_portuguese_under_the_field_and_refunds_nothing(
    browser, paid, payments, admin, amount, said
):
    order_id, payment_id = paid
    sign_in(browser)
    answer = refund(browser, order_id, payment_id, amount)
    assert answer.status_code == 422
    assert (
        f'<p id="refund-{payment_id}-amount-error" class="error" data-field="amount">{said}</p>'
        in (answer.text)
    )
    assert f"Não foi possível reembolsar: {said}" in answer.text
    assert form_fields(answer.text, f"refund-{payment_id}")["amount"] == amount  # kept as typed
    assert payment_of(payments, admin, payment_id) == ("succeeded", "0.00")


def test_a_refund_form_sent_twice_refunds_once(browser, paid, payments, admin):
    order_id, payment_id = paid
    sign_in(browser)
    page = browser.get(f"/console/orders/{order_id}").text
    first = refund(browser, order_id, payment_id, "10.00", page)
    again = refund(browser, order_id, payment_id, "10.00", page)
    assert (first.status_code, again.status_code) == (303, 303)
    assert payment_of(payments, admin, payment_id) == ("partially_refunded", "10.00")


def test_a_refund_whose_answer_did_not_come_is_shown_again_with_its_key_and_refunds_once_sent_again(
    browser, paid, payments, admin
):
    order_id, payment_id = paid
    sign_in(browser)
    page = browser.get(f"/console/orders/{order_id}").text
    url = payments.config["PAYMENTS_PROVIDER_URL"]
    payments.config["PAYMENTS_PROVIDER_URL"] = unreachable_url()
    payments.extensions.pop("payments.provider", None)
    try:
        lost = refund(browser, order_id, payment_id, "10.00", page)
    finally:
        payments.config["PAYMENTS_PROVIDER_URL"] = url
        payments.extensions.pop("payments.provider", None)
    assert lost.status_code == 503
    assert "Não foi possível saber se o reembolso foi feito" in lost.text
    shown = form_fields(lost.text, f"refund-{payment_id}")
    assert shown["idempotency_key"] == form_fields(page, f"refund-{payment_id}")["idempotency_key"]
    assert shown["amount"] == "10.00"

    again = refund(browser, order_id, payment_id, "10.00", lost.text)
    assert again.status_code == 303
    assert payment_of(payments, admin, payment_id) == ("partially_refunded", "10.00")


def fail_refund(payments, admin, standin, payment_id: int, n: int) -> str:
    """The provider fails the payment's n-th refund; back once payments heard it (its reason,
    which names the refund)."""
    with payments.app_context():
        refs = db.session.scalars(
            select(Refund.provider_ref).where(Refund.payment_id == payment_id).order_by(Refund.id)
        ).all()
        db.session.remove()
    assert standin_post(standin, f"/refunds/{refs[n]}/fail").status_code == 200
    url = f"/payments/{payment_id}"
    reason = eventually(
        lambda: (
            refs[n] in (payments.test_client().get(url, headers=admin).json["review_reason"] or "")
        )
    )
    assert reason
    return refs[n]


@pytest.mark.parametrize("paid", ["pm_card_refundFail"], indirect=True)
def test_a_refunded_payment_whose_refund_failed_is_offered_the_form_again_until_nothing_is_left(
    browser, paid, payments, admin, user, standin
):
    order_id, payment_id = paid
    sign_in(browser)
    # Refunded, the order (still pending: no event is relayed here) paid again by another card,
    # which holds it: the first payment stays `refunded` when its refund fails.
    other_id = flagged_beside_another(browser, paid, payments, admin, user, standin)
    assert payment_of(payments, admin, payment_id) == ("refunded", "0.00")

    page = browser.get(f"/console/orders/{order_id}").text
    assert form_fields(page, f"refund-{payment_id}") is not None
    assert "Em branco: todo o restante, R$ 60,50." in page

    answer = refund(browser, order_id, payment_id, "", page)
    assert answer.status_code == 303
    assert payment_of(payments, admin, payment_id) == ("refunded", "60.50")
    page = browser.get(answer.headers["Location"]).text
    assert form_fields(page, f"refund-{payment_id}") is None  # nothing is left to refund
    assert form_fields(page, f"refund-{other_id}") is not None


@pytest.mark.parametrize("paid", ["pm_card_refundFail"], indirect=True)
def test_a_payment_flagged_for_review_shows_why_beside_it_in_portuguese(
    browser, paid, payments, admin, standin
):
    order_id, payment_id = paid
    sign_in(browser)
    page = browser.get(f"/console/orders/{order_id}").text
    assert f'id="payment-{payment_id}-review"' not in page  # not flagged: nothing said
    assert refund(browser, order_id, payment_id, "").status_code == 303
    fail_refund(payments, admin, standin, payment_id, 0)

    page = browser.get(f"/console/orders/{order_id}").text

    review = re.search(rf'<tr class="review" id="payment-{payment_id}-review">(.*?)</tr>', page)
    assert review is not None
    assert re.fullmatch(
        r'<td colspan="6"><strong>Precisa de revisão</strong>: O estorno \S+ de R\$ 60,50 falhou '
        r"no provedor \(.+\): o dinheiro não voltou ao cliente; estorne de novo ou acerte com "
        r'ele<form [^>]*id="review-\d+".*</form></td>',
        review.group(1),
    ), review.group(1)


def mark_reviewed(browser, order_id: int, payment_id: int, page: str):
    return browser.post(
        f"/console/orders/{order_id}/payments/{payment_id}/reviewed",
        data=form_fields(page, f"review-{payment_id}"),
    )


def read_payment(payments, admin, payment_id: int) -> dict:
    return payments.test_client().get(f"/payments/{payment_id}", headers=admin).json


@pytest.mark.parametrize("paid", ["pm_card_refundFail"], indirect=True)
def test_an_admin_marks_a_flagged_payment_reviewed_and_its_review_row_goes(
    browser, paid, payments, admin, standin
):
    order_id, payment_id = paid
    sign_in(browser)
    assert (
        form_fields(browser.get(f"/console/orders/{order_id}").text, f"review-{payment_id}") is None
    )
    assert refund(browser, order_id, payment_id, "").status_code == 303
    fail_refund(payments, admin, standin, payment_id, 0)
    page = browser.get(f"/console/orders/{order_id}").text
    flagged = read_payment(payments, admin, payment_id)
    form = form_fields(page, f"review-{payment_id}")
    assert form["review_reason"] == flagged["review_reason"]  # as payments wrote it
    assert re.search(rf'id="review-{payment_id}".*>Marcar como revisado</button>', page)

    answer = mark_reviewed(browser, order_id, payment_id, page)

    assert answer.status_code == 303
    page = browser.get(answer.headers["Location"]).text
    assert f"Pagamento {payment_id} marcado como revisado." in page
    assert f'id="payment-{payment_id}-review"' not in page
    reviewed = read_payment(payments, admin, payment_id)
    assert reviewed["needs_review"] is False and reviewed["reviewed_by"] is not None


@pytest.mark.parametrize("paid", ["pm_card_refundFail"], indirect=True)
def test_a_reason_replaced_since_the_page_was_shown_is_said_and_the_new_one_shown(
    browser, paid, payments, admin, standin
):
    order_id, payment_id = paid
    sign_in(browser)
    page = browser.get(f"/console/orders/{order_id}").text
    assert refund(browser, order_id, payment_id, "10.00", page).status_code == 303
    page = browser.get(f"/console/orders/{order_id}").text
    assert refund(browser, order_id, payment_id, "20.00", page).status_code == 303
    first = fail_refund(payments, admin, standin, payment_id, 0)
    shown = browser.get(f"/console/orders/{order_id}").text
    assert first in form_fields(shown, f"review-{payment_id}")["review_reason"]
    second = fail_refund(payments, admin, standin, payment_id, 1)

    answer = mark_reviewed(browser, order_id, payment_id, shown)

    assert answer.status_code == 409
    assert (
        "Não foi possível marcar como revisado: O motivo da revisão do pagamento "
        f"{payment_id} mudou: leia-o de novo"
    ) in answer.text
    row = re.search(
        rf'<tr class="review" id="payment-{payment_id}-review">(.*?)</tr>', answer.text, re.S
    )
    # Both causes, each in Portuguese, the earlier first: clearing it clears both.
    said = re.search(
        r"<strong>Precisa de revisão</strong>: (.*?)<(?:form|/td)", row.group(1)
    ).group(1)
    assert re.fullmatch(
        rf"O estorno {first} de R\$ 10,00 falhou no provedor \(\w+\): .*\. "
        rf"O estorno {second} de R\$ 20,00 falhou no provedor \(\w+\): .*",
        html_module.unescape(said),
    ), said
    now = read_payment(payments, admin, payment_id)["review_reason"]
    assert form_fields(answer.text, f"review-{payment_id}")["review_reason"] == now.replace(
        "\n", "\r\n"
    )  # as a browser sends it
    assert read_payment(payments, admin, payment_id)["needs_review"] is True
    # Sent again from the page as it now is: marked reviewed.
    assert mark_reviewed(browser, order_id, payment_id, answer.text).status_code == 303
    assert read_payment(payments, admin, payment_id)["needs_review"] is False


@pytest.mark.parametrize("paid", ["pm_card_refundFail"], indirect=True)
def test_a_reason_of_two_lines_sent_back_with_a_browsers_crlf_marks_the_payment_reviewed(
    browser, paid, payments, admin, standin
):
    order_id, payment_id = paid
    sign_in(browser)
    for amount in ("10.00", "20.00"):
        assert refund(browser, order_id, payment_id, amount).status_code == 303
    fail_refund(payments, admin, standin, payment_id, 0)
    fail_refund(payments, admin, standin, payment_id, 1)
    page = browser.get(f"/console/orders/{order_id}").text
    assert "\r\n" in form_fields(page, f"review-{payment_id}")["review_reason"]

    answer = mark_reviewed(browser, order_id, payment_id, page)

    assert answer.status_code == 303
    assert read_payment(payments, admin, payment_id)["needs_review"] is False


@pytest.mark.parametrize("paid", ["pm_card_refundFail"], indirect=True)
def test_a_user_is_offered_no_review_form_and_the_consoles_route_refuses_them(
    browser, paid, payments, admin, standin
):
    order_id, payment_id = paid
    sign_in(browser)
    assert refund(browser, order_id, payment_id, "").status_code == 303
    fail_refund(payments, admin, standin, payment_id, 0)

    page = refused_to_a_user(
        browser, order_id, f"review-{payment_id}", f"payments/{payment_id}/reviewed"
    )

    assert f'id="payment-{payment_id}-review"' in page  # told why, not offered the form
    assert read_payment(payments, admin, payment_id)["needs_review"] is True


def flagged_beside_another(browser, paid, payments, admin, user, standin) -> int:
    """The paid order's payment refunded from the console (signed in), the order paid again by
    another card, then the refund failed at the provider: the first payment flagged for review
    and left `refunded`, the other not flagged. The other's id."""
    order_id, payment_id = paid
    assert refund(browser, order_id, payment_id, "").status_code == 303
    again = payments.test_client().post(
        "/payments",
        json={"order_id": order_id, "method": "card", "payment_method": "pm_card_visa"},
        headers=user,
    )
    assert again.status_code == 201 and again.json["status"] == "succeeded", again.json
    fail_refund(payments, admin, standin, payment_id, 0)
    return again.json["id"]


def review_rows(page: str) -> dict[int, str]:
    """The review list's rows, by payment id."""
    return {
        int(found): row
        for found, row in re.findall(r'<tr data-payment="(\d+)">(.*?)</tr>', page, re.S)
    }


@pytest.mark.parametrize("paid", ["pm_card_refundFail"], indirect=True)
def test_the_admins_review_list_shows_the_flagged_payment_and_is_empty_once_it_is_reviewed(
    browser, paid, payments, admin, user, standin
):
    order_id, payment_id = paid
    sign_in(browser)
    other = flagged_beside_another(browser, paid, payments, admin, user, standin)

    page = html_module.unescape(browser.get("/console/payments/review").text)

    rows = review_rows(page)
    assert list(rows) == [payment_id]  # the other payment is not flagged
    assert other not in rows
    row = rows[payment_id]
    assert f'<a href="/console/orders/{order_id}">#{order_id}</a>' in row
    assert re.search(
        r"<td>Cartão</td><td>Estornado</td><td>R\$ 60,50</td><td>R\$ 0,00</td>"
        r"<td>\d\d/\d\d/\d{4} \d\d:\d\d</td><td>O estorno \S+ de R\$ 60,50 falhou no provedor "
        r"\(.+\): o dinheiro não voltou ao cliente; estorne de novo ou acerte com ele</td>",
        row,
    ), row
    assert "Nenhum pagamento aguarda revisão." not in page
    # A page past the last says so, not that the queue is empty.
    beyond = html_module.unescape(browser.get("/console/payments/review?page=2").text)
    assert "A página 2 não existe: são 1 (1 no total)." in beyond
    assert "Nenhum pagamento aguarda revisão." not in beyond

    shown = browser.get(f"/console/orders/{order_id}").text
    assert mark_reviewed(browser, order_id, payment_id, shown).status_code == 303

    page = browser.get("/console/payments/review").text
    assert review_rows(page) == {}
    assert "Nenhum pagamento aguarda revisão." in html_module.unescape(page)


@pytest.mark.parametrize(
    ("status", "title"), [(503, "Service Unavailable"), (504, "Gateway Timeout")]
)
def test_the_review_list_says_payments_is_unavailable_when_it_does_not_answer(
    browser, payments, monkeypatch, status, title
):
    def down():
        # What the gateway answers for a service that is down, or slower than it waits.
        problem = {"status": status, "title": title, "detail": title}
        return problem, status, {"Content-Type": "application/problem+json"}

    sign_in(browser)
    monkeypatch.setitem(payments.before_request_funcs, None, [down])

    answer = browser.get("/console/payments/review")

    assert answer.status_code == 200
    assert "Pagamentos indisponíveis no momento." in html_module.unescape(answer.text)
    assert "data-unavailable" in answer.text and 'id="payments-review"' not in answer.text


def test_the_review_list_and_its_link_are_the_admins_only(browser):
    sign_in(browser)
    assert 'href="/console/payments/review">Revisões</a>' in browser.get("/console/account").text
    sign_out(browser)
    register(browser)
    assert "/console/payments/review" not in browser.get("/console/account").text

    answer = browser.get("/console/payments/review")

    # The console's own refusal (admin_only), not the API's 403 passed on.
    assert answer.status_code == 403
    assert "Esta página é só para administradores." in html_module.unescape(answer.text)
