"""How the console's pages read for shop staff: the API's moments in the shop's time zone, named
at the foot of every page; a page number past the last one says so; a form sent after the session
ended brings the user back, once signed in again, to the page the form was on (its own URL may
take POST only) and says the form was not sent."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from services.collector.models import STATUSES as RUN_STATUSES
from services.console.api import ApiError
from services.console.dashboard import kpis, low_stock, period, waiting_orders
from services.console.models import ConsoleSession, db
from services.console.pages import (
    NOTIFICATION_STATUS_LABELS,
    PAYMENT_METHOD_LABELS,
    PAYMENT_STATUS_LABELS,
    RUN_STATUS_LABELS,
    STATUS_LABELS,
    TEMPLATE_LABELS,
    pager,
    payment_failure,
    when,
)
from services.console.sales import shop_days
from services.notifications.models import STATUSES as NOTIFICATION_STATUSES
from services.notifications.models import TEMPLATES as NOTIFICATION_TEMPLATES
from services.orders.models import INTERNAL_STATUSES
from services.orders.models import STATUSES as ORDER_STATUSES
from services.payments.models import METHODS as PAYMENT_METHODS
from services.payments.models import STATUSES as PAYMENT_STATUSES

from .conftest import ADMIN, PASSWORD, change_user, console_app, csrf_of, register, sign_in
from .test_pages import sign_out, user_id_of


def sign_in_target(answer) -> tuple[str, dict[str, list[str]]]:
    """The sign-in page a redirect goes to, and its query."""
    assert answer.status_code == 302, answer.text
    target = urlsplit(answer.headers["Location"])
    assert target.path == "/console/login"
    return target.path, parse_qs(target.query)


def test_moments_are_shown_in_the_shops_time_zone_and_named_at_every_pages_foot(app, browser):
    with app.test_request_context():
        # 02:30 UTC is 23:30 of the day before in São Paulo (UTC-03:00, no summer time).
        assert when("2026-12-05T02:30:00+00:00") == "04/12/2026 23:30"
        assert when("2026-12-05T02:30:00") == "04/12/2026 23:30"
    sign_in(browser)
    assert "Horários no fuso America/Sao_Paulo (UTC-03:00)." in browser.get("/console/users").text


def test_another_time_zone_is_taken_and_an_unknown_one_stops_the_console_at_start(
    database, jwt_keys, gateway, auth_server
):
    lisbon = console_app(
        database, jwt_keys, gateway, auth_server, CONSOLE_TIME_ZONE="Europe/Lisbon"
    )
    with lisbon.test_request_context():
        assert when("2026-12-05T02:30:00+00:00") == "05/12/2026 02:30"
    for unknown in ("Mars/Olympus", "Factory"):
        with pytest.raises(RuntimeError, match=f"CONSOLE_TIME_ZONE='{unknown}'"):
            console_app(database, jwt_keys, gateway, auth_server, CONSOLE_TIME_ZONE=unknown)


def test_the_dashboard_asks_for_the_kpis_of_the_shops_days(browser, gateway):
    sign_in(browser)
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    gateway.app.asked.clear()
    page = browser.get("/console/?days=7")
    assert page.status_code == 200
    kpis = [parse_qs(query) for path, query in gateway.app.asked if path == "/orders/reports/kpis"]
    assert kpis == [
        {
            "from": [(today - timedelta(days=6)).isoformat()],
            "to": [today.isoformat()],
            "tz": ["America/Sao_Paulo"],
        }
    ]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_dashboard_panel_whose_route_fails_or_is_throttled_says_so_and_the_page_stands(status):
    assert kpis(ApiError(status))[:2] == (None, "Indicadores indisponíveis no momento.")
    assert low_stock(ApiError(status)) == ([], 0, "Estoque indisponível no momento.")
    assert waiting_orders(ApiError(status)) == ([], "Pedidos indisponíveis no momento.")


def test_a_period_given_only_its_end_starts_29_days_before_that_end(browser, gateway):
    """As the API does when `from` is missing: an empty "De" is not today's 29 days back, which
    made any past "Até" alone a period ending before it starts."""
    sign_in(browser)
    gateway.app.asked.clear()
    assert browser.get("/console/?to=2026-01-31").status_code == 200
    kpis = [parse_qs(query) for path, query in gateway.app.asked if path == "/orders/reports/kpis"]
    assert [(each["from"], each["to"]) for each in kpis] == [(["2026-01-02"], ["2026-01-31"])]
    # An end with no 30 days before it in the calendar: asked without `from`, for the API to name.
    gateway.app.asked.clear()
    assert browser.get("/console/?to=0001-01-05").status_code == 200
    kpis = [parse_qs(query) for path, query in gateway.app.asked if path == "/orders/reports/kpis"]
    assert [("from" in each, each["to"]) for each in kpis] == [(False, ["0001-01-05"])]


def test_the_dashboards_period_ends_today_in_the_shops_zone(
    database, jwt_keys, gateway, auth_server
):
    # Kiritimati (+14) and Pago Pago (-11) are 25 hours apart: never on the same day.
    ends = {}
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        shop = console_app(database, jwt_keys, gateway, auth_server, CONSOLE_TIME_ZONE=name)
        with shop.test_request_context("/console/?days=7"):
            before = datetime.now(ZoneInfo(name)).date().isoformat()
            _, ends[name], _ = period()
        assert ends[name] in (before, datetime.now(ZoneInfo(name)).date().isoformat())
    assert ends["Pacific/Kiritimati"] > ends["Pacific/Pago_Pago"]


def test_the_order_lists_days_are_the_shops_days_the_last_one_included(app):
    with app.test_request_context():
        asked = shop_days({"created_from": "2026-12-04", "created_to": "2026-12-04", "id": "7"})
        kept = shop_days({"created_from": "ontem", "created_to": ""})
        last = shop_days({"created_to": "9999-12-31"})
    # 23:30 in São Paulo on the 4th (02:30 UTC on the 5th) is within "from the 4th to the 4th".
    assert asked == {
        "created_from": "2026-12-04T00:00:00-03:00",
        "created_to": "2026-12-05T00:00:00-03:00",
        "id": "7",
    }
    assert kept == {"created_from": "ontem", "created_to": ""}
    assert last == {"created_to": "9999-12-31"}  # no day after it: sent as typed, not a 500


def test_a_moment_the_shops_zone_cannot_reach_is_shown_as_the_api_gave_it(app):
    with app.test_request_context():
        assert when("0001-01-01T00:00:00+00:00") == "0001-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("labels", "statuses"),
    [
        (STATUS_LABELS, ORDER_STATUSES + INTERNAL_STATUSES),
        (RUN_STATUS_LABELS, RUN_STATUSES),
        (NOTIFICATION_STATUS_LABELS, NOTIFICATION_STATUSES),
        (TEMPLATE_LABELS, tuple(NOTIFICATION_TEMPLATES.values())),
        (PAYMENT_STATUS_LABELS, PAYMENT_STATUSES),
        (PAYMENT_METHOD_LABELS, PAYMENT_METHODS),
    ],
    ids=[
        "orders",
        "collector runs",
        "notifications",
        "notification templates",
        "payments",
        "payment methods",
    ],
)
def test_every_status_the_api_has_is_shown_by_a_portuguese_word(labels, statuses):
    assert set(labels) == set(statuses)
    assert all(label[0].isupper() and label != status for status, label in labels.items())
    assert (STATUS_LABELS["pending"], RUN_STATUS_LABELS["failed"]) == ("Pendente", "Com falha")


def test_a_page_past_the_last_says_so_and_links_to_the_last_page(app, browser):
    with app.test_request_context("/console/users?role=user&page=9"):
        found = pager({"items": [], "page": 9, "per_page": 20, "total": 41})
    assert found["beyond"] is True
    assert found["last"] == "/console/users?role=user&page=3"
    assert found["previous"] == "/console/users?role=user&page=3"
    assert found["next"] is None
    sign_in(browser)
    page = browser.get("/console/users?page=9").text
    assert "A página 9 não existe: são 1 (1 no total)." in page
    assert 'href="/console/users?page=1"' in page
    assert "Página 9 de 1" not in page


def test_a_page_number_past_what_the_api_pages_is_said_past_the_end_not_an_empty_first_page(
    browser,
):
    sign_in(browser)
    page = browser.get("/console/users?page=999999").text
    assert "A página 100000 não existe: são 1 (1 no total)." in page


def test_a_form_sent_after_the_session_ended_brings_the_user_back_to_the_page_it_was_on(
    app, gateway, browser
):
    register(browser, email="bia@example.com", name="Bia")
    sign_out(browser)
    change_user(gateway, "bia@example.com", role="admin")
    sign_in(browser, email="bia@example.com", password=PASSWORD)
    root = user_id_of(browser, ADMIN[0])
    token = csrf_of(browser.get("/console/users?role=admin").text)
    # Auth ends Bia's sessions while her users page is open; then she sends its form, whose
    # URL takes POST only.
    change_user(gateway, "bia@example.com", active=False)
    answer = browser.post(
        f"/console/users/{root}",
        data={"csrf_token": token, "role": "user"},
        headers={"Referer": "http://localhost/console/users?role=admin"},
    )
    _, query = sign_in_target(answer)
    assert query["next"] == ["/console/users?role=admin"]
    assert query["ended"] == ["form"]
    page = browser.get(answer.headers["Location"]).text
    assert "o formulário não foi enviado" in page
    # Signed in again (as the admin: Bia is deactivated), the page the form was on, by GET.
    signed = browser.post(
        "/console/login",
        data={
            "email": ADMIN[0],
            "password": ADMIN[1],
            "next": query["next"][0],
            "csrf_token": csrf_of(page),
        },
    )
    assert signed.headers["Location"] == "/console/users?role=admin"
    assert browser.get(signed.headers["Location"]).status_code == 200


def test_a_form_sent_after_the_session_expired_goes_to_sign_in_not_the_400_page(app, browser):
    sign_in(browser)
    token = csrf_of(browser.get("/console/users").text)
    with app.app_context():
        db.session.execute(
            update(ConsoleSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
    answer = browser.post(
        "/console/users/1",
        data={"csrf_token": token, "role": "user"},
        headers={"Referer": "http://localhost/console/users?page=2"},
    )
    _, query = sign_in_target(answer)
    assert query == {"next": ["/console/users?page=2"], "ended": ["form"]}


def test_a_form_sent_without_a_session_from_another_site_returns_to_the_dashboard(browser):
    answer = browser.post(
        "/console/users/1",
        data={"role": "admin"},
        headers={"Referer": "https://elsewhere.example/console/users"},
    )
    _, query = sign_in_target(answer)
    assert query["next"] == ["/console/"]


def test_a_form_sent_without_a_session_with_a_referer_that_is_no_url_returns_to_the_dashboard(
    browser,
):
    answer = browser.post(
        "/console/users/1", data={"role": "admin"}, headers={"Referer": "http://[nope/console"}
    )
    _, query = sign_in_target(answer)
    assert query["next"] == ["/console/"]


@pytest.mark.parametrize(
    ("code", "reason", "shown"),
    [
        (
            "insufficient_funds",
            "Your card has insufficient funds.",
            "Saldo ou limite insuficiente.",
        ),
        ("expired_card", "Anything", "Cartão vencido."),
        (None, "Your card was declined.", "Recusado pelo banco."),
        (None, "The payment failed", "O pagamento falhou."),
        ("issuer_says_no", "Ask the bank.", "Ask the bank."),
        (None, None, ""),
    ],
    ids=["code", "code over words", "stripe's words", "ours", "unknown code", "not failed"],
)
def test_why_a_payment_failed_is_said_in_portuguese_when_the_console_knows_the_reason(
    code, reason, shown
):
    assert payment_failure({"failure_code": code, "failure_reason": reason}) == shown


@pytest.mark.parametrize(
    ("sent", "back_to"),
    [
        ("/console/users?role=admin", "/console/users?role=admin"),
        ("/console/products?q=pão €", "/console/products?q=p%C3%A3o%20%E2%82%AC"),
        ("/console/users\r\nSet-Cookie: x=1", "/console/"),
        ("/console/\u2028", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/consolex/", "/console/"),
        ("//[x/console", "/console/"),
        ("http://a..b/console", "/console/"),
        ("http://x:abc/console", "/console/"),
        ("/console/../orders", "/console/"),
        ("/console", "/console"),
        ("/", "/console/"),
    ],
)
def test_signing_in_goes_back_only_to_a_console_page_as_a_uri(app, browser, sent, back_to):
    page = browser.get("/console/login").text
    signed = browser.post(
        "/console/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "next": sent, "csrf_token": csrf_of(page)},
    )
    assert signed.status_code == 303
    assert signed.headers["Location"] == back_to
