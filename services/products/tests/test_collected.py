"""The collector's door: internal, opened by the collector's service credential alone; the
import's upsert by barcode, answering which product each row became; pictures checked as an
upload is."""

import io

from PIL import Image

from services.kit.testing import from_service

from .conftest import barcode
from .test_images import upload


def collector(headers=None):
    return from_service("collector", "products", headers)


def png(colour=(200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
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


def test_a_null_collected_row_is_rejected_on_its_own_and_the_others_land(client):
    rows = [None, {"name": "Panela", "price": "1299.90", "barcode": barcode(1)}]
    answer = client.post("/products/collected", json=rows, headers=collector())
    assert answer.status_code == 200
    assert answer.json["rejected"] == [
        {
            "index": 0,
            "reason": "Invalid fields: _body",
            "errors": {"_body": ["Invalid input type."]},
        }
    ]
    assert [(row["index"], row["created"]) for row in answer.json["products"]] == [(1, True)]


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
    sent = upload(client, collector(), product["id"], png(), door="/collected")
    assert sent.status_code == 201 and sent.json["url"].startswith("/media/")
    # Sent again (its answer lost): the same picture, answered 200, not a second one.
    resent = upload(client, collector(), product["id"], png(), door="/collected")
    assert (resent.status_code, resent.json) == (200, sent.json)
    assert client.get(f"/products/{product['id']}", headers=admin).json["images"] == [sent.json]
    fake = upload(client, collector(), product["id"], b"<html>", door="/collected")
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


def test_a_collected_row_naming_the_product_its_page_became_changes_that_ones_barcode(
    client, admin, make_product
):
    before = make_product(name="Panela", barcode=barcode(1))
    moved = {
        "id": before["id"],
        "was": barcode(1),
        "name": "Panela",
        "price": "12.00",
        "barcode": barcode(3),
    }
    answer = client.post("/products/collected", json=[moved], headers=collector()).json
    assert answer["products"] == [{"index": 0, "id": before["id"], "created": False}]
    product = client.get(f"/products/{before['id']}", headers=admin).json
    assert (product["barcode"], product["price"]) == (barcode(3), "12.00")


def test_a_product_whose_barcode_is_no_longer_the_one_the_page_gave_is_not_the_rows_to_move(
    client, admin, make_product
):
    # The page gave it barcode(1); a person has corrected it since.
    corrected = make_product(name="Panela", barcode=barcode(2))
    row = {"id": corrected["id"], "was": barcode(1), "name": "Panela", "price": "12.00"}
    answer = client.post(
        "/products/collected", json=[{**row, "barcode": barcode(3)}], headers=collector()
    ).json
    # Upserted by its own barcode as any row: a new product, whose name is the corrected one's.
    assert answer["products"] == []
    assert answer["rejected"][0]["errors"] == {"name": ["already taken"]}
    product = client.get(f"/products/{corrected['id']}", headers=admin).json
    assert (product["barcode"], product["price"]) == (barcode(2), "10.00")


def test_a_new_barcode_another_product_holds_lands_the_row_on_that_product(
    client, admin, make_product
):
    before = make_product(name="Panela", barcode=barcode(1))
    holder = make_product(name="Panela de Ferro", barcode=barcode(2))
    row = {"id": before["id"], "was": barcode(1), "price": "15.00", "barcode": barcode(2)}
    answer = client.post(
        "/products/collected", json=[{**row, "name": "Panela de Ferro"}], headers=collector()
    ).json
    assert answer["products"] == [{"index": 0, "id": holder["id"], "created": False}]
    assert client.get(f"/products/{holder['id']}", headers=admin).json["price"] == "15.00"
    product = client.get(f"/products/{before['id']}", headers=admin).json
    assert (product["barcode"], product["price"]) == (barcode(1), "10.00")
    # Unless the holder would take a name another product has: the row's own refusal.
    answer = client.post(
        "/products/collected", json=[{**row, "name": "Panela"}], headers=collector()
    ).json
    assert answer["products"] == []
    assert answer["rejected"][0]["errors"] == {"name": ["already taken"]}


def test_a_collected_row_gives_the_product_it_became_with_the_barcode_the_page_gave_it(
    client, make_product
):
    before = make_product(name="Panela", barcode=barcode(1))
    row = {"name": "Panela", "price": "12.00", "barcode": barcode(3)}
    rows = [{**row, "id": before["id"]}, {**row, "was": barcode(1)}]
    answer = client.post("/products/collected", json=rows, headers=collector()).json
    assert [rejected["errors"] for rejected in answer["rejected"]] == [
        {"was": ["Missing data for required field."]},
        {"id": ["Missing data for required field."]},
    ]


def test_a_collected_row_naming_a_product_that_is_gone_is_upserted_by_its_barcode(
    client, admin, make_product
):
    gone = make_product(name="Panela")
    assert client.delete(f"/products/{gone['id']}", headers=admin).status_code == 204
    row = {
        "id": gone["id"],
        "was": gone["barcode"],
        "name": "Panela",
        "price": "12.00",
        "barcode": barcode(7),
    }
    answer = client.post("/products/collected", json=[row], headers=collector()).json
    assert answer["created"] == 1 and answer["products"][0]["id"] != gone["id"]


def test_the_collector_removes_a_picture_it_sent_never_one_a_person_added(
    client, admin, make_product
):
    product = make_product()
    pictures = f"/products/collected/{product['id']}/images"
    by_hand = upload(client, admin, product["id"], png()).json
    sent = upload(client, collector(), product["id"], png((10, 10, 200)), door="/collected").json
    # The person's picture, sent by the collector too, stays the person's.
    resent = upload(client, collector(), product["id"], png(), door="/collected")
    assert (resent.status_code, resent.json["id"]) == (200, by_hand["id"])
    assert client.delete(f"{pictures}/{by_hand['id']}", headers=collector()).status_code == 404
    assert client.delete(f"{pictures}/{sent['id']}", headers=collector()).status_code == 204
    assert client.delete(f"{pictures}/{sent['id']}", headers=collector()).status_code == 404
    held = client.get(f"/products/{product['id']}", headers=admin).json["images"]
    assert [image["id"] for image in held] == [by_hand["id"]]


def test_a_picture_the_collector_sent_that_a_person_sends_too_becomes_theirs(
    client, admin, make_product
):
    product = make_product()
    pictures = f"/products/collected/{product['id']}/images"
    sent = upload(client, collector(), product["id"], png(), door="/collected").json
    by_hand = upload(client, admin, product["id"], png())
    assert (by_hand.status_code, by_hand.json["id"]) == (200, sent["id"])
    assert client.delete(f"{pictures}/{sent['id']}", headers=collector()).status_code == 404
    held = client.get(f"/products/{product['id']}", headers=admin).json["images"]
    assert [image["id"] for image in held] == [sent["id"]]


def test_a_person_sending_the_collectors_bytes_claims_the_picture_without_decoding_it(
    client, admin, make_product, monkeypatch
):
    from services.products import images

    product = make_product()
    sent = upload(client, collector(), product["id"], png(), door="/collected").json

    def never(stream):
        raise AssertionError("decoded again")

    monkeypatch.setattr(images, "encode", never)
    claimed = upload(client, admin, product["id"], png())
    assert (claimed.status_code, claimed.json) == (200, sent)
