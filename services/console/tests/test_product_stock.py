"""A product's page says its stock as inventory has it: a product just created, whose stock row
inventory makes only when it hears `product.created`, is said to have its stock being recorded
(with the initial stock the form sent), not a 0 that staff would type again; a real 0 is 0."""

import html
import re

import pytest
from flask import Flask, request

from .conftest import console_with_api, csrf_of, signed_in_admin

PRODUCT = 9
PROBLEM = {"Content-Type": "application/problem+json"}


class Shop:
    """Products and inventory as the product page reads them. Product 9, which `POST /products`
    creates (`created` keeps the bodies), has products' copy of its stock at `copy` (0, as for
    a product just created). Its stock row at inventory is `stock`: None answers inventory's 404
    (product.created not heard yet), an int is the status of a failure. No categories."""

    def __init__(self):
        self.stock: dict | int | None = None
        self.copy = 0
        self.created: list[dict] = []
        app = self.app = Flask("api")

        @app.get(f"/products/{PRODUCT}")
        def product():
            return {
                "id": PRODUCT,
                "name": "Café",
                "description": None,
                "price": "5.00",
                "barcode": "7891234567895",
                "category_id": None,
                "expires_on": None,
                "active": True,
                "available_quantity": self.copy,
                "images": [],
            }

        @app.post("/products")
        def create():
            self.created.append(request.get_json())
            return product(), 201

        @app.get("/categories")
        def categories():
            return {"items": [], "page": 1, "per_page": 100, "total": 0}

        @app.get(f"/inventory/stock/{PRODUCT}")
        def stock():
            if self.stock is None:
                detail = f"Product {PRODUCT} has no stock in inventory"
                return {"status": 404, "title": "Not Found", "detail": detail}, 404, PROBLEM
            if isinstance(self.stock, int):
                return {"status": self.stock, "title": "Unavailable"}, self.stock, PROBLEM
            return self.stock


def row(available: int) -> dict:
    return {
        "product_id": PRODUCT,
        "on_hand": available,
        "reserved": 0,
        "available": available,
        "reorder_level": 0,
        "updated_at": "2026-12-01T10:00:00+00:00",
    }


@pytest.fixture(scope="module")
def shop(auth):
    return Shop()


@pytest.fixture(scope="module")
def shop_console(database, jwt_keys, auth, auth_server, shop):
    with console_with_api(
        database, jwt_keys, auth, auth_server, shop.app, ("/products", "/categories", "/inventory")
    ) as console:
        yield console


@pytest.fixture
def admin(shop_console, auth, shop):
    shop.stock, shop.copy, shop.created = None, 0, []
    return signed_in_admin(shop_console, auth)


def available_on(page: str) -> str:
    """What the product page says under "Disponível", as text."""
    found = re.search(r"<dt>Disponível</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S)
    assert found, "the page says what is available"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def create_with_initial_stock(admin, quantity: str):
    page = admin.get("/console/products/new").text
    form = {
        "csrf_token": csrf_of(page),
        "active": "on",
        "name": "Café",
        "price": "5,00",
        "barcode": "7891234567895",
        "initial_stock": quantity,
    }
    return admin.post("/console/products/new", data=form)


def test_a_new_product_whose_stock_inventory_has_not_recorded_yet_says_it_is_being_recorded(
    admin, shop
):
    answer = create_with_initial_stock(admin, "25")
    assert answer.status_code == 303
    assert shop.created[0]["initial_stock"] == 25

    page = admin.get(answer.location).text
    said = available_on(page)
    assert said.startswith("Estoque sendo registrado…")
    assert "estoque inicial: 25" in said
    assert "0" not in said.replace("25", "")

    shop.stock = row(25)  # inventory heard product.created; products' copy still says 0
    assert available_on(admin.get(answer.location).text) == "25"


def test_a_product_inventory_has_not_recorded_yet_says_so_without_a_quantity_it_does_not_know(
    admin, shop
):
    said = available_on(admin.get(f"/console/products/{PRODUCT}").text)
    assert said.startswith("Estoque sendo registrado…")
    assert "estoque inicial" not in said


def test_a_product_with_no_stock_at_inventory_shows_0(admin, shop):
    shop.stock, shop.copy = row(0), 4  # products' copy, behind, is not what the page says
    assert available_on(admin.get(f"/console/products/{PRODUCT}").text) == "0"


def test_a_product_page_shows_products_copy_of_its_stock_when_inventory_fails(admin, shop):
    shop.stock, shop.copy = 503, 4
    page = admin.get(f"/console/products/{PRODUCT}")
    assert page.status_code == 200
    assert available_on(page.text) == "4"
