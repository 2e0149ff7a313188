"""The product form's category select against a stand-in for the API whose catalogue changes while
the console reads its pages: what another admin deletes or makes between two pages neither hides
a category nor offers one twice."""

import re

import pytest
from flask import Flask, request

from services.auth.accounts import ensure_admin
from services.kit.testing import truncate_all

from .conftest import ADMIN, console_with_api, sign_in


class Categories:
    """`GET /categories` as products answers it (sorted by name, paged by offset). `between`
    runs once, when page 2 is first asked for: another admin's write landing between the
    console's reads of page 1 and page 2."""

    def __init__(self, count: int):
        self.rows = [{"id": n, "name": f"Categoria {n:03d}"} for n in range(1, count + 1)]
        self.between = None
        app = self.app = Flask("api")

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
        database, jwt_keys, auth, auth_server, catalogue.app, ("/categories",)
    ) as console:
        yield console


@pytest.fixture
def admin(catalogue_console, auth, catalogue):
    for each in (catalogue_console, auth):
        truncate_all(each)
    with auth.app_context():
        ensure_admin(*ADMIN)
    catalogue.rows = Categories(150).rows
    browser = catalogue_console.test_client()
    sign_in(browser)
    return browser


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
