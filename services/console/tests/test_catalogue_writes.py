"""The import and the product form against the real products service (behind the gateway
stand-in, with auth): what they send is what the catalogue keeps. A file not in UTF-8 overwrites
no name; an import's accents cost it no size; a stale form puts back nothing it did not change."""

import html
import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from services.console.tests.conftest import (
    ADMIN,
    console_with_api,
    csrf_of,
    signed_in_admin,
)
from services.console.tests.test_error_summary import summary_links
from services.kit.testing import build_app
from services.products import create_app as create_products_app
from services.products.ean import check_digit

PROBLEM = {"Content-Type": "application/problem+json"}


def barcode(n: int) -> str:
    first_twelve = f"789{n:09d}"
    return first_twelve + check_digit(first_twelve)


@pytest.fixture(scope="module")
def products(database, jwt_keys, tmp_path_factory):
    return build_app(
        create_products_app,
        "products",
        database,
        jwt_keys,
        MEDIA_DIR=str(tmp_path_factory.mktemp("media")),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )


@pytest.fixture(scope="module")
def served(database, jwt_keys, auth, auth_server, products):
    with console_with_api(
        database, jwt_keys, auth, auth_server, products, ("/products", "/categories")
    ) as console:
        yield console


class Api:
    """The products API as another admin uses it, through the same gateway as the console."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        token = requests.post(
            f"{base_url}/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}, timeout=5
        ).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, body=None) -> dict:
        answer = requests.request(
            method, self.base_url + path, json=body, headers=self.headers, timeout=10
        )
        answer.raise_for_status()
        return answer.json()


@pytest.fixture
def admin(served, auth, products):
    return signed_in_admin(served, auth, products)


@pytest.fixture
def api(admin, served):
    return Api(served.config["GATEWAY_URL"])


def import_file(admin, content: bytes, rows: str = ""):
    token = csrf_of(admin.get("/console/products/import").text)
    return admin.post(
        "/console/products/import",
        data={"csrf_token": token, "rows": rows, "file": (io.BytesIO(content), "catalogo.json")},
        content_type="multipart/form-data",
    )


def import_pasted(admin, rows: str):
    """The import form as a browser sends it (multipart, as its enctype says), pasted rows."""
    token = csrf_of(admin.get("/console/products/import").text)
    return admin.post(
        "/console/products/import",
        data={"csrf_token": token, "rows": rows},
        content_type="multipart/form-data",
    )


def accented_rows(count: int, description: str) -> str:
    return json.dumps(
        [
            {
                "name": f"Açúcar União {n}",
                "price": "5.00",
                "barcode": barcode(n),
                "description": description,
            }
            for n in range(1, count + 1)
        ],
        ensure_ascii=False,
    )


def test_an_import_file_not_in_utf8_is_refused_on_its_field_and_renames_nothing(admin, api):
    sugar = {"name": "Açúcar União", "price": "5.00", "barcode": barcode(1)}
    made = api("POST", "/products", sugar)
    rows = [{**sugar, "price": "6.00"}]

    answer = import_file(admin, json.dumps(rows, ensure_ascii=False).encode("cp1252"))

    assert answer.status_code == 422
    error = re.search(r'id="file-error"[^>]*>([^<]*)<', answer.text)
    assert error, answer.text
    assert html.unescape(error.group(1)).startswith("O arquivo não está em UTF-8")
    # The error summary links it too (every error paragraph is the macros' error_paragraph).
    assert summary_links(answer.text) == {"file": html.unescape(error.group(1))}
    kept = api("GET", f"/products/{made['id']}")
    assert (kept["name"], kept["price"]) == ("Açúcar União", "5.00")


def test_an_import_file_in_utf8_with_a_byte_order_mark_is_imported(admin, api):
    rows = [{"name": "Açúcar União", "price": "6.00", "barcode": barcode(2)}]

    answer = import_file(admin, json.dumps(rows, ensure_ascii=False).encode("utf-8-sig"))

    assert answer.status_code == 200, answer.text
    assert "Criados: 1" in answer.text
    [found] = api("GET", "/products")["items"]
    assert found["name"] == "Açúcar União"


def test_an_accented_import_within_the_apis_limit_reaches_it_within_the_limit(admin, api):
    # 400 KB as typed (UTF-8), but three times that once each "ç" is sent as "\u00e7".
    rows = accented_rows(100, "çã" * 1000)
    assert len(rows.encode()) < 1024 * 1024 < len(json.dumps(json.loads(rows)))

    answer = import_pasted(admin, rows)

    assert answer.status_code == 200, answer.text
    assert "Criados: 100" in answer.text
    found = api("GET", "/products?per_page=1&sort=name")["items"][0]
    assert found["name"] == "Açúcar União 1"
    assert found["description"] == "çã" * 1000


def test_a_pasted_import_past_flasks_default_form_field_size_but_within_the_apis_is_taken(
    admin, api
):
    # 800 KB typed: past Flask's 500 KB a form field may hold by default, within the API's 1 MiB.
    rows = accented_rows(200, "çã" * 1000)
    assert 500_000 < len(rows.encode()) < 1024 * 1024

    answer = import_pasted(admin, rows)

    assert answer.status_code == 200, answer.text[:300]
    assert "Criados: 200" in answer.text


def test_a_lone_surrogate_in_pasted_json_is_the_apis_refusal_of_its_row_not_a_500(admin):
    # Valid JSON, but no UTF-8 can carry U+D800: the API names the row and field.
    rows = json.dumps([{"name": "Açúcar \ud800", "price": "5.00", "barcode": barcode(1)}])

    answer = import_pasted(admin, rows)

    assert answer.status_code == 200, answer.text[:300]
    assert "Criados: 0" in answer.text and "Recusados: 1" in answer.text


def test_a_lone_surrogate_in_an_accented_import_within_the_limit_leaves_the_rest_taken(
    admin, products, monkeypatch
):
    # ~6 KB as UTF-8 but ~18 KB with every ç escaped: only the surrogate may go escaped.
    monkeypatch.setitem(products.config, "MAX_CONTENT_LENGTH", 10_000)
    rows = accented_rows(3, "ç" * 1000).replace("Açúcar União 3", "Açúcar \\ud800", 1)
    assert len(rows.encode()) < 10_000

    answer = import_pasted(admin, rows)

    assert answer.status_code == 200, answer.text[:300]
    assert "Criados: 2" in answer.text and "Recusados: 1" in answer.text


def test_an_import_larger_than_the_api_takes_is_refused_on_its_field_keeping_the_text(
    admin, products, monkeypatch
):
    monkeypatch.setitem(products.config, "MAX_CONTENT_LENGTH", 10_000)
    rows = accented_rows(10, "ç" * 1000)

    answer = import_pasted(admin, rows)

    assert answer.status_code == 413
    error = re.search(r'id="rows-error"[^>]*>([^<]*)<', answer.text)
    assert error, answer.text
    assert html.unescape(error.group(1)).startswith("A importação é grande demais")
    kept = re.search(r'<textarea id="rows"[^>]*>([^<]*)</textarea>', answer.text)
    assert html.unescape(kept.group(1)) == rows


class Form(HTMLParser):
    """What a browser sends for the form `form_id` of a page, left as it was loaded: its inputs'
    values (a checkbox's when checked), each textarea's text, each select's chosen option."""

    def __init__(self, page: str, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, {}
        self.textarea = self.select = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif not self.inside:
            return
        elif tag == "input" and attrs.get("type") == "checkbox":
            if "checked" in attrs:
                self.values[attrs["name"]] = attrs.get("value", "on")
        elif tag == "input":
            self.values[attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.values[self.textarea] = ""
        elif tag == "select":
            self.select = attrs["name"]
        elif (
            tag == "option"
            and self.select
            and ("selected" in attrs or self.select not in self.values)
        ):
            self.values[self.select] = attrs["value"]

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None

    def handle_data(self, data):
        if self.inside and self.textarea:
            self.values[self.textarea] += data


def test_a_stale_product_form_saved_with_a_new_name_leaves_a_deactivation_made_since(admin, api):
    made = api("POST", "/products", {"name": "Café", "price": "5.00", "barcode": barcode(3)})
    page = admin.get(f"/console/products/{made['id']}").text
    api("PATCH", f"/products/{made['id']}", {"active": False, "price": "7.00"})

    form = Form(page, "product-form").values
    assert form["active"] == "on"
    answer = admin.post(f"/console/products/{made['id']}", data={**form, "name": "Café moído"})

    assert answer.status_code == 303
    kept = api("GET", f"/products/{made['id']}")
    assert (kept["name"], kept["active"], kept["price"]) == ("Café moído", False, "7.00")


def test_a_product_form_saved_unchanged_sends_nothing_and_says_so(admin, api):
    made = api("POST", "/products", {"name": "Café", "price": "5.00", "barcode": barcode(4)})
    page = admin.get(f"/console/products/{made['id']}").text
    api("PATCH", f"/products/{made['id']}", {"active": False})

    answer = admin.post(f"/console/products/{made['id']}", data=Form(page, "product-form").values)

    assert answer.status_code == 303, re.findall(r'class="(?:error|notice)[^>]*>[^<]*', answer.text)
    assert api("GET", f"/products/{made['id']}")["active"] is False
    assert "Nada foi alterado." in admin.get(answer.location).text


def test_a_refused_product_form_keeps_the_values_it_was_first_loaded_with(admin, api):
    made = api("POST", "/products", {"name": "Café", "price": "5.00", "barcode": barcode(5)})
    page = admin.get(f"/console/products/{made['id']}").text
    api("PATCH", f"/products/{made['id']}", {"active": False})
    form = Form(page, "product-form").values

    refused = admin.post(f"/console/products/{made['id']}", data={**form, "price": "-1"})
    assert refused.status_code == 422
    again = Form(refused.text, "product-form").values
    assert again["orig_active"] == "on"  # as first loaded, not the product's state now
    answer = admin.post(f"/console/products/{made['id']}", data={**again, "price": "6.00"})

    assert answer.status_code == 303
    kept = api("GET", f"/products/{made['id']}")
    assert (kept["price"], kept["active"]) == ("6.00", False)


def new_product_whose_picture_is_answered(admin, products, monkeypatch, status, problem):
    """The new-product form sent with a picture, the products service answering its upload
    `status` with `problem`; the product itself is created."""

    def answering(**_):
        return {"status": status, **problem}, status, PROBLEM

    monkeypatch.setitem(products.view_functions, "products.ProductImages", answering)
    form = Form(admin.get("/console/products/new").text, "product-form").values
    return admin.post(
        "/console/products/new",
        data={
            **form,
            "name": "Café",
            "price": "5.00",
            "barcode": barcode(6),
            "file": (io.BytesIO(b"a picture"), "cafe.png", "image/png"),
        },
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_new_product_whose_picture_upload_failed_is_shown_on_its_page_not_as_a_failure(
    admin, api, products, monkeypatch, status
):
    answer = new_product_whose_picture_is_answered(
        admin, products, monkeypatch, status, {"title": "Upstream failed"}
    )

    [made] = api("GET", "/products")["items"]  # one product, made once
    assert answer.status_code == 303
    assert answer.location == f"/console/products/{made['id']}"
    page = html.unescape(admin.get(answer.location).text)
    assert "Produto Café criado, mas não foi possível saber se a imagem foi salva" in page


@pytest.mark.parametrize(
    ("status", "problem", "why"),
    [
        (
            429,
            {"title": "Too Many Requests", "detail": "Too many requests; slow down"},
            "Muitas requisições; diminua o ritmo.",
        ),
        (403, {"title": "Forbidden"}, "Acesso negado."),
        (403, {}, "o envio foi recusado."),
    ],
)
def test_a_new_product_whose_picture_was_refused_for_now_is_shown_on_its_page_to_send_it_again(
    admin, api, products, monkeypatch, status, problem, why
):
    answer = new_product_whose_picture_is_answered(admin, products, monkeypatch, status, problem)

    [made] = api("GET", "/products")["items"]  # one product, made once
    assert answer.status_code == 303
    assert answer.location == f"/console/products/{made['id']}"
    page = html.unescape(admin.get(answer.location).text)
    assert f"Produto Café criado, mas a imagem não foi salva: {why} Envie-a de novo" in page


def test_a_new_product_whose_session_ended_on_its_picture_leads_to_its_page_after_signing_in(
    admin, api, products, monkeypatch
):
    # The upload answers 401 to the refreshed token too: the console's session ends.
    answer = new_product_whose_picture_is_answered(
        admin, products, monkeypatch, 401, {"title": "Unauthorized"}
    )

    [made] = api("GET", "/products")["items"]  # one product, made once
    assert answer.status_code == 303
    where = urlsplit(answer.location)
    assert where.path == "/console/login"
    product_page = f"/console/products/{made['id']}"
    assert parse_qs(where.query) == {"next": [product_page], "ended": ["1"]}
    login = admin.get(answer.location)
    assert "Sua sessão terminou. Entre de novo." in html.unescape(login.text)
    assert "o formulário não foi enviado" not in html.unescape(login.text)
    credentials = {"email": ADMIN[0], "password": ADMIN[1]}
    signed_in = admin.post(
        "/console/login", data={**Form(login.text, "login-form").values, **credentials}
    )
    assert signed_in.status_code == 303
    assert signed_in.location == product_page
