"""Required fields as the forms mark and say them: the account form says auth's refusal of an
emptied name, and refuses an empty current password, in the words of the other forms; the
new-client form marks with "*" every field the clients API requires."""

import html
import re

from services.clients.schemas import ClientSchema

from .conftest import csrf_of, register, sign_in
from .test_pages import save_account


def error_under(page: str, fid: str) -> str | None:
    found = re.search(rf'<p id="{fid}-error" class="error"[^>]*>([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


def test_an_emptied_name_on_my_account_is_sent_and_refused_as_blank(browser):
    register(browser)
    answer = save_account(browser, "")
    assert answer.status_code == 422
    assert error_under(answer.text, "name") == "Não pode ficar em branco."
    assert "Nada mudou" not in answer.text
    assert 'id="who">Ana<' in browser.get("/console/account").text


def test_regression_a_name_of_only_spaces_on_my_account_is_still_refused_as_blank(browser):
    """Auth refused it before the emptied name was sent: kept so that sending it stays so."""
    register(browser)
    answer = save_account(browser, "   ")
    assert answer.status_code == 422
    assert error_under(answer.text, "name") == "Não pode ficar em branco."
    assert 'id="who">Ana<' in browser.get("/console/account").text


def test_my_account_sent_without_the_current_password_says_it_is_required(browser):
    register(browser)
    token = csrf_of(browser.get("/console/account").text)
    answer = browser.post(
        "/console/account",
        data={"csrf_token": token, "name": "Ana Maria", "password": "", "current_password": ""},
    )
    assert answer.status_code == 422
    assert error_under(answer.text, "current_password") == "Campo obrigatório."
    assert error_under(answer.text, "name") is None
    assert 'id="who">Ana<' in browser.get("/console/account").text


def label_marked(page: str, fid: str) -> bool:
    found = re.search(rf'<label for="{fid}">(.*?)</label>', page, re.S)
    assert found, f"the form labels {fid}"
    return '<span aria-hidden="true">*</span>' in found.group(1)


def test_the_new_client_form_marks_every_field_the_clients_api_requires(browser):
    sign_in(browser)
    page = browser.get("/console/clients/new").text
    required = {name for name, field in ClientSchema().load_fields.items() if field.required}
    assert required == {"name", "email", "cpf"}
    for name in ("name", "email", "cpf", "phone"):
        assert label_marked(page, name) is (name in required), name
