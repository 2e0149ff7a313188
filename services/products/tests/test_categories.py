"""Categories through HTTP against a real PostgreSQL."""

from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from services.kit.testing import at_once, pool_sized_app
from services.products import create_app
from services.products.models import Category, db

PROBLEM = "application/problem+json"


def test_admin_creates_a_category_with_201_and_location(client, admin):
    response = client.post(
        "/categories", json={"name": "Periféricos", "description": "Teclados"}, headers=admin
    )
    assert response.status_code == 201
    body = response.json
    assert body["name"] == "Periféricos" and body["description"] == "Teclados"
    assert response.headers["Location"] == f"/categories/{body['id']}"


def test_any_signed_in_user_reads_categories_but_only_an_admin_writes_them(
    client, user, make_category
):
    made = make_category()
    assert client.get("/categories", headers=user).json["total"] == 1
    assert client.get(f"/categories/{made['id']}", headers=user).json == made
    path = f"/categories/{made['id']}"
    for response in [
        client.post("/categories", json={"name": "X"}, headers=user),
        client.put(path, json={"name": "X"}, headers=user),
        client.patch(path, json={"name": "X"}, headers=user),
        client.delete(path, headers=user),
    ]:
        assert response.status_code == 403 and response.mimetype == PROBLEM


def test_categories_need_a_token(client):
    assert client.get("/categories").status_code == 401


def test_a_taken_category_name_is_409_naming_the_field(client, admin, make_category):
    first, second = make_category(name="Bebidas"), make_category(name="Limpeza")
    again = client.post("/categories", json={"name": "Bebidas"}, headers=admin)
    renamed = client.patch(f"/categories/{second['id']}", json={"name": "Bebidas"}, headers=admin)
    assert again.status_code == renamed.status_code == 409
    assert again.json["errors"] == {"name": ["already taken"]}
    assert client.get(f"/categories/{first['id']}", headers=admin).json["name"] == "Bebidas"


BEBIDAS = {"name": "Bebidas", "description": "Sucos e refrigerantes"}


def categories_stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Category))


def test_a_repeated_idempotency_key_creates_one_category_and_answers_it_again(app, client, admin):
    key = {**admin, "Idempotency-Key": "cat-1"}
    first = client.post("/categories", json=BEBIDAS, headers=key)
    again = client.post("/categories", json=BEBIDAS, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"] == f"/categories/{first.json['id']}"
    assert categories_stored(app) == 1


def test_an_idempotency_key_used_with_another_category_is_a_409_naming_the_first(
    app, client, admin
):
    key = {**admin, "Idempotency-Key": "cat-1"}
    first = client.post("/categories", json=BEBIDAS, headers=key)
    other = client.post("/categories", json={"name": "Limpeza"}, headers=key)
    assert other.status_code == 409 and other.mimetype == PROBLEM
    assert other.json["key_reused"] is True and other.json["resource_id"] == first.json["id"]
    assert other.json["detail"] == "This Idempotency-Key was used with another body"
    assert categories_stored(app) == 1


def test_twelve_concurrent_sends_with_one_idempotency_key_create_one_category(
    app, client, database, jwt_keys, media_dir, admin
):
    key = {**admin, "Idempotency-Key": "cat-at-once"}
    media = str(media_dir)
    with pool_sized_app(
        create_app, "products", database, jwt_keys, threads=12, MEDIA_DIR=media
    ) as twelve:

        def send():
            response = twelve.test_client().post("/categories", json=BEBIDAS, headers=key)
            return response.status_code, response.json["id"]

        answers = at_once(twelve, send, copies=12)
    assert {status for status, _ in answers} == {201}
    assert len({made for _, made in answers}) == 1
    assert categories_stored(app) == 1


def test_a_repeated_category_without_an_idempotency_key_is_still_a_409_for_its_name(
    app, client, admin
):
    assert client.post("/categories", json=BEBIDAS, headers=admin).status_code == 201
    again = client.post("/categories", json=BEBIDAS, headers=admin)
    assert again.status_code == 409 and again.json["errors"] == {"name": ["already taken"]}
    assert "key_reused" not in again.json
    assert categories_stored(app) == 1


def test_a_category_name_is_stored_without_the_spaces_at_its_ends_and_taken_so(
    client, admin, make_category
):
    made = make_category(name="\u00a0 Bebidas ")
    assert made["name"] == "Bebidas"
    again = client.post("/categories", json={"name": "Bebidas  "}, headers=admin)
    assert again.status_code == 409 and again.json["errors"] == {"name": ["already taken"]}


def test_a_category_name_taken_in_another_unicode_spelling_is_409(client, admin, make_category):
    make_category(name="Perif\u00e9ricos")  # é, one character
    again = client.post("/categories", json={"name": "Perife\u0301ricos"}, headers=admin)
    assert again.status_code == 409
    assert again.json["errors"] == {"name": ["already taken"]}


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 81}, {"name": "A", "id": 9}])
def test_an_invalid_category_is_422(client, admin, body):
    response = client.post("/categories", json=body, headers=admin)
    assert response.status_code == 422 and response.mimetype == PROBLEM


def test_categories_are_put_patched_listed_and_sorted(client, admin, make_category):
    made = make_category(name="Bebidas")
    make_category(name="Açougue")
    put = client.put(f"/categories/{made['id']}", json={"name": "Vinhos"}, headers=admin)
    assert put.status_code == 200 and put.json["description"] is None
    patched = client.patch(
        f"/categories/{made['id']}", json={"description": "Tintos"}, headers=admin
    )
    assert patched.json == {**put.json, "description": "Tintos", "updated_at": ANY}
    names = [c["name"] for c in client.get("/categories?sort=-name", headers=admin).json["items"]]
    assert names == ["Vinhos", "Açougue"]
    assert client.patch(f"/categories/{made['id']}", json={}, headers=admin).status_code == 422


def test_an_empty_category_is_deleted(app, client, admin, make_category):
    made = make_category()
    assert client.delete(f"/categories/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"/categories/{made['id']}", headers=admin).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Category)) == 0


def test_a_category_with_products_cannot_be_deleted(
    app, client, admin, make_category, make_product
):
    made = make_category()
    make_product(category_id=made["id"])
    response = client.delete(f"/categories/{made['id']}", headers=admin)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert "still has products" in response.json["detail"]
    assert client.get(f"/categories/{made['id']}", headers=admin).status_code == 200


def test_an_unknown_category_is_404(client, admin):
    assert client.get("/categories/424242", headers=admin).status_code == 404
    assert client.patch("/categories/424242", json={"name": "X"}, headers=admin).status_code == 404
    assert client.delete("/categories/424242", headers=admin).status_code == 404
