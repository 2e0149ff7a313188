"""HTTP caching: every read has an ETag, a current If-None-Match is a 304, and nothing is stored
by a shared cache."""

import pytest


@pytest.mark.parametrize(
    "path", ["/products/{id}", "/products", "/products?q=mouse", "/categories"]
)
def test_a_read_has_an_etag_and_a_current_if_none_match_answers_304_without_a_body(
    client, user, make_product, path
):
    made = make_product(name="Mouse")
    url = path.format(id=made["id"])
    first = client.get(url, headers=user)
    assert first.status_code == 200 and first.headers["ETag"].startswith('W/"')
    again = client.get(url, headers={**user, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_the_etag_changes_when_the_product_changes(client, user, admin, make_product):
    made = make_product()
    url = f"/products/{made['id']}"
    before = client.get(url, headers=user).headers["ETag"]
    client.patch(url, json={"price": "11.00"}, headers=admin)
    after = client.get(url, headers={**user, "If-None-Match": before})
    assert after.status_code == 200 and after.json["price"] == "11.00"
    assert after.headers["ETag"] != before


def test_a_list_page_etag_changes_with_the_page(client, user, make_product):
    make_product()
    make_product()
    first = client.get("/products?per_page=1", headers=user).headers["ETag"]
    second = client.get("/products?per_page=1&page=2", headers=user).headers["ETag"]
    assert first != second
    assert (
        client.get(
            "/products?per_page=1&page=2", headers={**user, "If-None-Match": first}
        ).status_code
        == 200
    )


def test_reads_may_be_kept_only_by_the_callers_own_client_and_are_revalidated(
    client, user, make_product
):
    made = make_product()
    for url in ["/products", f"/products/{made['id']}", "/categories"]:
        assert client.get(url, headers=user).headers["Cache-Control"] == "private, no-cache"


def test_errors_and_writes_carry_no_etag(client, user, admin, make_product):
    assert "ETag" not in client.get("/products/424242", headers=user).headers
    created = client.post(
        "/products", json={"name": "X", "price": "1.00", "barcode": "4006381333931"}, headers=admin
    )
    assert "ETag" not in created.headers


@pytest.mark.parametrize(
    "path", ["/products/{id}", "/products", "/categories/{category}", "/categories"]
)
def test_a_head_carries_the_headers_of_its_get_etag_and_length_included(
    client, user, make_category, make_product, path
):
    category = make_category()
    made = make_product(name="Mouse", category_id=category["id"])
    url = path.format(id=made["id"], category=category["id"])
    got = client.get(url, headers=user)
    head = client.head(url, headers=user)
    assert head.status_code == 200 and head.get_data() == b""
    for name in ("ETag", "Cache-Control", "Content-Length", "Content-Type"):
        assert head.headers.get(name) == got.headers.get(name), name
    again = client.head(url, headers={**user, "If-None-Match": got.headers["ETag"]})
    assert again.status_code == 304
