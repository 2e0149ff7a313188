"""A product is answered with its pictures as one moment saw them, even when a change commits
between the SELECTs that read them (the row, then the pictures): in a GET, a page of the list,
and the answer of an edit, read after its own commit."""

import pytest

from services.kit.testing import changed_after_reading

from .test_images import picture, upload


@pytest.fixture
def product_id(client, admin, make_product):
    """A product of one picture."""
    made = make_product()
    assert upload(client, admin, made["id"], picture()).status_code == 201
    return made["id"]


def _answer_while_it_is_deleted(app, client, headers, method, url, body, product_id) -> dict:
    """`method` `url`, with the product deleted (its pictures going with it, by the foreign key's
    cascade) by another transaction right after the request's first SELECT of the products
    table, after the request's own commit when it makes one."""
    with changed_after_reading(
        app,
        "products.products",
        ["DELETE FROM products.products WHERE id = :id"],
        {"id": product_id},
        after_commit=method != "GET",
    ) as deleted:
        response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 200, response.json
    assert deleted, "the product was never deleted"
    return response.json


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/products/{id}", None),
        ("GET", "/products", None),
        ("PATCH", "/products/{id}", {"price": "12.00"}),
    ],
)
def test_a_product_deleted_while_it_is_read_is_answered_with_the_pictures_it_had(
    app, client, admin, product_id, method, path, body
):
    url = path.format(id=product_id)
    answered = _answer_while_it_is_deleted(app, client, admin, method, url, body, product_id)
    if "items" in answered:
        [answered] = answered["items"]
    assert answered["id"] == product_id
    assert len(answered["images"]) == 1
    # The deletion did commit: the next read finds no product.
    assert client.get(f"/products/{product_id}", headers=admin).status_code == 404
