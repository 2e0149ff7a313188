"""The product form's category select against a stand-in for the API whose catalogue changes while
the console reads its pages: what another admin deletes or makes between two pages neither hides
a category nor offers one twice; a product's own category is always an option, so saving its
price keeps it, and so is the products list's category filter, so filtering again keeps it. And
the import's report, in Portuguese."""

import html
import re

import pytest
from flask import Flask, request

from services.console import catalogue as pages

from .conftest import console_with_api, csrf_of, signed_in_admin

PRODUCT = 9


class Categories:
    """`GET /categories` as products answers it (sorted by name, paged by offset), and one
    category. `between` runs once, when page 2 is first asked for: another admin's write
    landing between the console's reads of page 1 and page 2. `failing`: the categories answer
    500. Product 9 is in `category_id`; its PATCHes are kept (`patched`). The products list is
    empty. An import refuses its second row."""

    def __init__(self, count: int):
        self.rows = [{"id": n, "name": f"Seção {n:03d}"} for n in range(1, count + 1)]
        self.between = None
        self.failing = False
        self.category_id = 140
        self.patched: list[dict] = []
        app = self.app = Flask("api")

        @app.before_request
        def fail():
            if self.failing and request.path.startswith("/categories"):
                problem = {"status": 500, "title": "Internal Server Error"}
                return problem, 500, {"Content-Type": "application/problem+json"}

        @app.get("/categories/<int:category_id>")
        def category(category_id):
            return next(row for row in self.rows if row["id"] == category_id)

        @app.get(f"/products/{PRODUCT}")
        def product():
            return {
                "id": PRODUCT,
                "name": "Teclado",
                "description": None,
                "price": "10.00",
                "barcode": "7891234567895",
                "category_id": self.category_id,
                "expires_on": None,
                "active": True,
                "available_quantity": 3,
                "images": [],
            }

        @app.get("/products")
        def products():
            return {"items": [], "page": 1, "per_page": 20, "total": 0}

        @app.patch(f"/products/{PRODUCT}")
        def patch():
            self.patched.append(request.get_json())
            return product()

        @app.post("/products/import")
        def import_products():
            return {
                "created": 1,
                "updated": 0,
                "rejected": [
                    {
                        "index": 1,
                        "reason": "Invalid fields: barcode, price",
                        "errors": {
                            "barcode": ["The check digit does not match."],
                            "price": ["Missing data for required field."],
                        },
                    }
                ],
            }

        @app.get("/categories")
        def listing():
            page = int(request.args.get("page", 1))
            per_page = int(request.args.get("per_page", 20))
            if page == 2 and self.between:
                self.between, write = None, self.between
                write(self.rows)
            start = (page - 1) * per_page
            return {
                "items": self.rows[start : start + per_page],
                "page": page,
                "per_page": per_page,
                "total": len(self.rows),
            }


@pytest.fixture(scope="module")
def catalogue(auth):
    return Categories(150)


@pytest.fixture(scope="module")
def catalogue_console(database, jwt_keys, auth, auth_server, catalogue):
    with console_with_api(
        database, jwt_keys, auth, auth_server, catalogue.app, ("/categories", "/products")
    ) as console:
        yield console


@pytest.fixture
def admin(catalogue_console, auth, catalogue):
    catalogue.rows = Categories(150).rows
    catalogue.failing = False
    catalogue.patched.clear()
    return signed_in_admin(catalogue_console, auth)


def offered(html: str) -> list[int]:
    select = re.search(r'<select[^>]*id="category_id".*?</select>', html, re.S)
    assert select, "the form has its category select"
    return [int(v) for v in re.findall(r'<option value="(\d+)"', select.group(0))]


def test_a_category_deleted_between_two_pages_hides_no_other_from_the_product_form(
    admin, catalogue
):
    # Deleting the 5th shifts the 101st onto page 1, which the console has already read.
    catalogue.between = lambda rows: rows.pop(4)

    page = admin.get("/console/products/new")

    assert page.status_code == 200
    assert sorted(offered(page.text)) == [n for n in range(1, 151) if n != 5]


def test_a_category_made_between_two_pages_is_offered_once_on_the_product_form(admin, catalogue):
    catalogue.between = lambda rows: rows.insert(0, {"id": 151, "name": "Categoria 000"})

    page = admin.get("/console/products/new")

    assert page.status_code == 200
    assert sorted(offered(page.text)) == list(range(1, 152))


def selected(html: str) -> tuple[str, str]:
    """The category select's chosen option (value, label), as a browser sends it: the first
    option when none is marked."""
    select = re.search(r'<select[^>]*id="category_id".*?</select>', html, re.S).group(0)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)
    chosen = [(value, label) for value, marked, label in options if marked] or [options[0][::2]]
    return chosen[0]


def save_price(admin, page: str, price: str):
    """The product form sent as the browser sends it, with a new price: its fields and the
    values it was loaded with (`orig_<field>`)."""
    form = {
        "csrf_token": csrf_of(page),
        "name": "Teclado",
        "price": price,
        "barcode": "7891234567895",
        "category_id": selected(page)[0],
        "active": "on",
        **dict(re.findall(r'<input type="hidden" name="(orig_\w+)" value="([^"]*)">', page)),
    }
    assert form["orig_category_id"] == "140"
    return admin.post(f"/console/products/{PRODUCT}", data=form)


def test_a_product_whose_category_the_select_did_not_read_keeps_it_when_its_price_is_saved(
    admin, catalogue, monkeypatch
):
    monkeypatch.setattr(pages, "CATEGORY_PAGES", 1)  # the select reads categories 1 to 100
    page = admin.get(f"/console/products/{PRODUCT}").text
    assert selected(page) == ("140", "Seção 140")
    assert save_price(admin, page, "12.00").status_code == 303
    assert catalogue.patched == [{"price": "12.00"}]  # the category, kept, is not sent


def test_a_product_keeps_its_category_when_the_categories_cannot_be_read(admin, catalogue):
    catalogue.failing = True
    page = admin.get(f"/console/products/{PRODUCT}").text
    assert selected(page) == ("140", "Categoria 140")
    assert save_price(admin, page, "12.00").status_code == 303
    assert catalogue.patched == [{"price": "12.00"}]


def test_a_category_filter_the_select_did_not_read_stays_chosen_on_the_products_list(
    admin, monkeypatch
):
    monkeypatch.setattr(pages, "CATEGORY_PAGES", 1)  # the select reads categories 1 to 100
    page = admin.get("/console/products", query_string={"category_id": "140"})
    assert page.status_code == 200
    assert selected(page.text) == ("140", "Seção 140")


def test_the_products_lists_category_filter_stays_chosen_when_the_categories_cannot_be_read(
    admin, catalogue
):
    catalogue.failing = True
    page = admin.get("/console/products", query_string={"category_id": "140"})
    assert page.status_code == 200
    assert selected(page.text) == ("140", "Categoria 140")


def test_the_import_report_says_each_refused_rows_reason_and_fields_in_portuguese(admin):
    page = admin.get("/console/products/import").text
    answer = admin.post(
        "/console/products/import", data={"csrf_token": csrf_of(page), "rows": "[{}, {}]"}
    )
    assert answer.status_code == 200
    report = re.search(r'<table class="list"[^>]*>.*?</table>', answer.text, re.S)
    report = html.unescape(report.group(0))
    assert "<td>Campos inválidos: barcode, price</td>" in report
    assert "<code>barcode</code>: O dígito verificador não confere." in report
    assert "<code>price</code>: Campo obrigatório." in report
    assert "Invalid fields" not in report and "check digit" not in report


def test_the_import_report_counts_rows_from_one_as_the_list_holds_them(admin):
    page = admin.get("/console/products/import").text
    answer = admin.post(
        "/console/products/import", data={"csrf_token": csrf_of(page), "rows": "[{}, {}]"}
    )
    # The API's index 1 is the list's second product.
    report = re.search(
        r'<table class="list" id="rejected">.*?<tbody>(.*?)</tbody>', answer.text, re.S
    )
    assert re.findall(r"<tr><td>([^<]*)</td>", report.group(1)) == ["2"]
    assert "contadas a partir de 1" in answer.text
