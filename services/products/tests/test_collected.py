"""The collector's door: internal, opened by the collector's service credential alone; the
import's upsert by barcode, answering which product each row became; pictures checked as an
upload is."""

import io

from PIL import Image

from services.kit.testing import from_service

from .conftest import barcode


def collector(headers=None):
    return from_service("collector", "products", headers)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_collector_upserts_by_barcode_and_learns_each_rows_product(client):
    rows = [
        {"name": "Panela", "price": "1299.90", "barcode": barcode(1)},
        {"name": "Sem preço", "barcode": barcode(2)},
        {"name": "Chaleira", "price": "189.50", "barcode": barcode(3)},
    ]
    answer = client.post("/products/collected", json=rows, headers=collector())
    assert answer.status_code == 200
    assert (answer.json["created"], answer.json["updated"]) == (2, 0)
    assert [row["index"] for row in answer.json["rejected"]] == [1]
    made = {row["index"]: row for row in answer.json["products"]}
    assert set(made) == {0, 2} and all(row["created"] for row in made.values())
    again = client.post("/products/collected", json=rows[:1], headers=collector()).json
    assert again["products"] == [{"index": 0, "id": made[0]["id"], "created": False}]


def test_only_the_collectors_credential_opens_it(client, admin):
    rows = [{"name": "Panela", "price": "10.00", "barcode": barcode(1)}]
    assert client.post("/products/collected", json=rows, headers=admin).status_code == 401
    other = from_service("notifications", "products")
    assert client.post("/products/collected", json=rows, headers=other).status_code in (401, 403)
    assert client.post("/products/collected", json=rows).status_code == 401


def test_the_collector_adds_a_checked_picture_once_and_a_fake_one_is_refused(
    client, admin, make_product
):
    product = make_product()
    sent = client.post(
        f"/products/collected/{product['id']}/images",
        data={"file": (io.BytesIO(png()), "foto.png")},
        headers=collector(),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201 and sent.json["url"].startswith("/media/")
    # Sent again (its answer lost): the same picture, answered 200, not a second one.
    resent = client.post(
        f"/products/collected/{product['id']}/images",
        data={"file": (io.BytesIO(png()), "foto.png")},
        headers=collector(),
        content_type="multipart/form-data",
    )
    assert (resent.status_code, resent.json) == (200, sent.json)
    assert client.get(f"/products/{product['id']}", headers=admin).json["images"] == [sent.json]
    fake = client.post(
        f"/products/collected/{product['id']}/images",
        data={"file": (io.BytesIO(b"<html>"), "foto.png")},
        headers=collector(),
        content_type="multipart/form-data",
    )
    assert fake.status_code == 422


def test_the_door_is_not_in_the_public_document(client):
    paths = client.get("/products/openapi.json").json["paths"]
    assert not any(path.startswith("/products/collected") for path in paths)


def test_a_collected_row_sets_only_the_fields_it_carries(client, admin, make_category):
    category = make_category()
    whole = {
        "name": "Panela",
        "price": "10.00",
        "barcode": barcode(1),
        "description": "Ferro fundido",
        "category_id": category["id"],
        "active": False,
    }
    product_id = client.post("/products", json=whole, headers=admin).json["id"]
    seen = {"name": "Panela de Ferro", "price": "12.50", "barcode": barcode(1)}
    answer = client.post("/products/collected", json=[seen], headers=collector())
    assert answer.json["products"] == [{"index": 0, "id": product_id, "created": False}]
    product = client.get(f"/products/{product_id}", headers=admin).json
    assert (product["name"], product["price"]) == ("Panela de Ferro", "12.50")
    assert (product["description"], product["category_id"], product["active"]) == (
        "Ferro fundido",
        category["id"],
        False,
    )


def test_an_imported_row_is_still_a_whole_product(client, admin, make_category):
    category = make_category()
    whole = {"name": "Panela", "price": "10.00", "barcode": barcode(1), "description": "Ferro"}
    product_id = client.post(
        "/products", json={**whole, "category_id": category["id"]}, headers=admin
    ).json["id"]
    row = {"name": "Panela", "price": "12.50", "barcode": barcode(1)}
    assert client.post("/products/import", json=[row], headers=admin).json["updated"] == 1
    product = client.get(f"/products/{product_id}", headers=admin).json
    assert (product["description"], product["category_id"]) == (None, None)
