"""Conditional writes: a PUT, PATCH or DELETE with If-Match goes ahead only while the resource is
as the caller read it (its GET's ETag), checked under the row's lock; without one, as before."""

import pytest
from sqlalchemy import select

from services.kit.testing import racing_patches
from services.products.models import Product

STALE = 'W/"0000000000000000000000000000000000000000"'


@pytest.fixture
def product(make_product):
    return make_product(name="Teclado")


@pytest.fixture
def category(make_category):
    return make_category(name="Periféricos")


def test_a_stale_if_match_is_a_412_and_changes_nothing(client, admin, product):
    url = f"/products/{product['id']}"
    for write in (
        lambda h: client.patch(url, json={"price": "99.00"}, headers=h),
        lambda h: client.put(url, json={**_fields(product), "price": "99.00"}, headers=h),
        lambda h: client.delete(url, headers=h),
    ):
        answer = write({**admin, "If-Match": STALE})
        assert answer.status_code == 412
        assert answer.mimetype == "application/problem+json"
        assert "read it again" in answer.json["detail"]
    assert client.get(url, headers=admin).json["price"] == "10.00"


def test_a_tag_that_is_not_a_tag_is_a_412(client, admin, product):
    url = f"/products/{product['id']}"
    answer = client.patch(url, json={"price": "99.00"}, headers={**admin, "If-Match": "garbage"})
    assert answer.status_code == 412
    assert client.get(url, headers=admin).json["price"] == "10.00"


def test_the_gets_own_etag_lets_the_write_through(client, admin, product):
    url = f"/products/{product['id']}"
    tag = client.get(url, headers=admin).headers["ETag"]
    answer = client.patch(url, json={"price": "12.00"}, headers={**admin, "If-Match": tag})
    assert answer.status_code == 200 and answer.json["price"] == "12.00"
    # The tag it had is stale now.
    again = client.patch(url, json={"price": "13.00"}, headers={**admin, "If-Match": tag})
    assert again.status_code == 412


def test_one_of_several_tags_matching_is_enough(client, admin, product):
    url = f"/products/{product['id']}"
    tag = client.get(url, headers=admin).headers["ETag"]
    answer = client.delete(url, headers={**admin, "If-Match": f"{STALE}, {tag}"})
    assert answer.status_code == 204
    assert client.get(url, headers=admin).status_code == 404


def test_a_star_matches_the_resource_that_exists(client, admin, product):
    url = f"/products/{product['id']}"
    answer = client.patch(url, json={"price": "14.00"}, headers={**admin, "If-Match": "*"})
    assert answer.status_code == 200 and answer.json["price"] == "14.00"


def test_without_if_match_a_write_goes_ahead_as_before(client, admin, product):
    url = f"/products/{product['id']}"
    answer = client.patch(url, json={"price": "15.00"}, headers=admin)
    assert answer.status_code == 200 and answer.json["price"] == "15.00"


def test_two_patches_with_the_same_current_tag_give_one_200_and_one_412(app, admin, product):
    url = f"/products/{product['id']}"
    row = select(Product.id).where(Product.id == product["id"])
    changes = [{"price": "21.00"}, {"price": "22.00"}]
    assert racing_patches(app, url, admin, changes, row) == [200, 412]


def test_a_category_checks_if_match_too(client, admin, category):
    url = f"/categories/{category['id']}"
    stale = client.patch(url, json={"description": "x"}, headers={**admin, "If-Match": STALE})
    assert stale.status_code == 412
    tag = client.get(url, headers=admin).headers["ETag"]
    for write in (
        lambda h: client.put(url, json={"name": "Teclados", "description": "y"}, headers=h),
        lambda h: client.delete(url, headers=h),
    ):
        assert write({**admin, "If-Match": STALE}).status_code == 412
    assert client.get(url, headers=admin).json["name"] == "Periféricos"
    assert client.delete(url, headers={**admin, "If-Match": tag}).status_code == 204


def test_the_openapi_document_names_if_match_and_its_412(client):
    paths = client.get("/products/openapi.json").json["paths"]
    for path in ("/products/{product_id}", "/categories/{category_id}"):
        for method in ("put", "patch", "delete"):
            operation = paths[path][method]
            assert {"in": "header", "name": "If-Match"}.items() <= {
                **next(p for p in operation["parameters"] if p["name"] == "If-Match")
            }.items()
            assert "412" in operation["responses"]
        assert "ETag" in paths[path]["get"]["responses"]["200"]["headers"]


def _fields(product):
    return {
        name: product[name]
        for name in ("name", "price", "barcode", "description", "category_id", "active")
        if name in product
    }
