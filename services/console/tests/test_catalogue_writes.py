"""The import and the product form against the real products service (behind the gateway
stand-in, with auth): what they send is what the catalogue keeps. A file not in UTF-8 overwrites
no name; an import's accents cost it no size; a stale form puts back nothing it did not change."""

import html
import io
import json
import re

import pytest
import requests

from services.console.tests.conftest import (
    ADMIN,
    console_with_api,
    csrf_of,
    sign_in,
)
from services.kit.testing import build_app, truncate_all
from services.products import create_app as create_products_app
from services.products.ean import check_digit


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
    from services.auth.accounts import ensure_admin

    for each in (served, auth, products):
        truncate_all(each)
    with auth.app_context():
        ensure_admin(*ADMIN)
    browser = served.test_client()
    sign_in(browser)
    return browser


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


def test_an_import_file_not_in_utf8_is_refused_on_its_field_and_renames_nothing(admin, api):
    sugar = {"name": "Açúcar União", "price": "5.00", "barcode": barcode(1)}
    made = api("POST", "/products", sugar)
    rows = [{**sugar, "price": "6.00"}]

    answer = import_file(admin, json.dumps(rows, ensure_ascii=False).encode("cp1252"))

    assert answer.status_code == 422
    error = re.search(r'id="file-error"[^>]*>([^<]*)<', answer.text)
    assert error, answer.text
    assert html.unescape(error.group(1)).startswith("O arquivo não está em UTF-8")
    kept = api("GET", f"/products/{made['id']}")
    assert (kept["name"], kept["price"]) == ("Açúcar União", "5.00")


def test_an_import_file_in_utf8_with_a_byte_order_mark_is_imported(admin, api):
    rows = [{"name": "Açúcar União", "price": "6.00", "barcode": barcode(2)}]

    answer = import_file(admin, json.dumps(rows, ensure_ascii=False).encode("utf-8-sig"))

    assert answer.status_code == 200, answer.text
    assert "Criados: 1" in answer.text
    [found] = api("GET", "/products")["items"]
    assert found["name"] == "Açúcar União"
