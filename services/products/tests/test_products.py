"""Products through HTTP against a real PostgreSQL: the rules, the list and its search."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text, update

from services.kit.testing import answered_behind
from services.products.ean import check_digit, validate
from services.products.models import Product, db, outbox

from .conftest import barcode

PROBLEM = "application/problem+json"


# --- EAN-13 ---


def test_the_check_digit_matches_a_known_ean13():
    assert check_digit("400638133393") == "1"
    assert validate(" 4006381333931 ") == "4006381333931"


@pytest.mark.parametrize(
    "raw", ["4006381333932", "400638133393", "40063813339310", "abcdefghijklm", "400638133393a"]
)
def test_a_barcode_with_a_wrong_check_digit_or_shape_is_refused(raw):
    with pytest.raises(ValueError):
        validate(raw)


# --- create and read ---


def test_admin_creates_a_product_with_201_location_and_a_decimal_price(app, client, admin):
    body = {"name": "Teclado", "price": 249.9, "barcode": "4006381333931"}
    response = client.post("/products", json=body, headers=admin)
    assert response.status_code == 201
    made = response.json
    assert made["price"] == "249.90" and made["barcode"] == "4006381333931"
    assert made["active"] is True and made["available_quantity"] == 0
    assert made["images"] == [] and made["category_id"] is None and made["expires_on"] is None
    assert response.headers["Location"] == f"/products/{made['id']}"
    assert "initial_stock" not in made
    with app.app_context():
        assert str(db.session.get(Product, made["id"]).price) == "249.90"


def test_create_announces_the_product_with_its_initial_stock(app, client, admin, make_product):
    made = make_product(initial_stock=25)
    plain = make_product()
    with app.app_context():
        events = db.session.scalars(select(outbox.Event).order_by(outbox.Event.id)).all()
        assert [e.type for e in events] == ["product.created", "product.created"]
        assert events[0].payload["data"] == {
            "product_id": made["id"],
            "initial_stock": 25,
            "name": made["name"],
            "price": "10.00",
            "category_id": None,
            "active": True,
            "updated_at": made["updated_at"],
        }
        assert events[1].payload["data"]["product_id"] == plain["id"]
        assert events[1].payload["data"]["initial_stock"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", 0),
        ("price", "-1.00"),
        ("price", "1.234"),
        ("price", "abc"),
        ("price", True),
        # What Python's Decimal reads but a person did not mean as money.
        ("price", "1_0"),
        ("price", "1e1"),
        ("price", " 1.00 "),
        ("price", "+1.00"),
        ("price", ".50"),
        ("price", "\u0663"),  # ARABIC-INDIC DIGIT THREE
        ("price", "\uff11.00"),  # FULLWIDTH DIGIT ONE
        ("barcode", "4006381333932"),
        ("barcode", "123"),
        ("name", ""),
        ("name", "x" * 201),
        ("category_id", "1"),
        ("category_id", 0),
        ("expires_on", "2025-13-01"),
        ("initial_stock", -1),
        ("initial_stock", 1.5),
        ("available_quantity", 5),
        ("id", 7),
    ],
)
def test_an_invalid_field_is_a_422_naming_it(client, admin, field, value):
    body = {"name": "Mouse", "price": "10.00", "barcode": "4006381333931", field: value}
    response = client.post("/products", json=body, headers=admin)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == [field]


def test_missing_required_fields_are_named(client, admin):
    response = client.post("/products", json={"description": "só isso"}, headers=admin)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"name", "price", "barcode"}


def test_a_body_that_is_not_json_is_400(client, admin):
    response = client.post("/products", data="name=x", headers=admin)
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_an_unknown_category_is_422_naming_category_id(client, admin, make_product):
    body = {"name": "Mouse", "price": "10.00", "barcode": "4006381333931", "category_id": 999}
    response = client.post("/products", json=body, headers=admin)
    assert response.status_code == 422 and response.json["errors"] == {
        "category_id": ["No such category."]
    }
    made = make_product()
    patched = client.patch(f"/products/{made['id']}", json={"category_id": 999}, headers=admin)
    assert patched.status_code == 422 and list(patched.json["errors"]) == ["category_id"]


def test_a_taken_barcode_or_name_is_409_naming_the_field(client, admin, make_product):
    made = make_product(name="Mouse", barcode="4006381333931")
    same_barcode = client.post(
        "/products",
        json={"name": "Outro", "price": "1.00", "barcode": made["barcode"]},
        headers=admin,
    )
    same_name = client.post(
        "/products", json={"name": "Mouse", "price": "1.00", "barcode": barcode(500)}, headers=admin
    )
    assert same_barcode.status_code == same_name.status_code == 409
    assert same_barcode.json["errors"] == {"barcode": ["already taken"]}
    assert same_name.json["errors"] == {"name": ["already taken"]}


def test_concurrent_creates_with_one_barcode_give_one_201_and_the_rest_409(app, client, admin):
    def create(n):
        body = {"name": f"Corrida {n}", "price": "5.00", "barcode": "4006381333931"}
        return app.test_client().post("/products", json=body, headers=admin).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(create, range(10)))
    assert statuses == [201] + [409] * 9
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 1
        assert db.session.scalar(select(func.count()).select_from(outbox.Event)) == 1


def test_get_returns_the_product_and_an_unknown_id_is_404(client, user, make_product):
    made = make_product()
    assert client.get(f"/products/{made['id']}", headers=user).json == made
    response = client.get("/products/999999", headers=user)
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_head_answers_whether_the_product_exists(client, user, make_product):
    made = make_product()
    yes = client.head(f"/products/{made['id']}", headers=user)
    assert yes.status_code == 200 and yes.get_data() == b""
    assert client.head("/products/999999", headers=user).status_code == 404


def test_every_route_needs_a_token(client, make_product):
    made = make_product()
    for method, path in [
        ("get", "/products"),
        ("get", f"/products/{made['id']}"),
        ("head", f"/products/{made['id']}"),
        ("post", "/products"),
        ("post", "/products/import"),
        ("delete", f"/products/{made['id']}"),
    ]:
        assert getattr(client, method)(path).status_code == 401


def test_a_user_reads_products_but_cannot_write_them(client, user, make_product):
    made = make_product()
    path = f"/products/{made['id']}"
    body = {"name": "X", "price": "1.00", "barcode": barcode(900)}
    for response in [
        client.post("/products", json=body, headers=user),
        client.put(path, json=body, headers=user),
        client.patch(path, json={"price": "2.00"}, headers=user),
        client.delete(path, headers=user),
        client.post("/products/import", json=[body], headers=user),
    ]:
        assert response.status_code == 403 and response.mimetype == PROBLEM
    assert client.get(path, headers=user).json == made


# --- update ---


def test_put_replaces_the_product(client, admin, make_product, make_category):
    category = make_category()
    made = make_product(description="velha", expires_on="2030-01-31")
    body = {
        "name": "Novo",
        "price": "7.50",
        "barcode": barcode(700),
        "category_id": category["id"],
        "active": False,
    }
    response = client.put(f"/products/{made['id']}", json=body, headers=admin)
    assert response.status_code == 200
    replaced = response.json
    assert replaced["description"] is None and replaced["expires_on"] is None
    assert (replaced["price"], replaced["category_id"], replaced["active"]) == (
        "7.50",
        category["id"],
        False,
    )


def test_patch_changes_only_the_given_fields(client, admin, make_product):
    made = make_product(description="Sem fio", expires_on="2030-01-31")
    response = client.patch(f"/products/{made['id']}", json={"price": "99.90"}, headers=admin)
    assert response.status_code == 200
    assert response.json["price"] == "99.90"
    assert response.json["description"] == "Sem fio" and response.json["expires_on"] == "2030-01-31"


@pytest.mark.parametrize(
    "body", [{}, {"available_quantity": 3}, {"initial_stock": 3}, {"price": "0.00"}]
)
def test_an_empty_or_invalid_patch_is_422(client, admin, make_product, body):
    made = make_product()
    assert client.patch(f"/products/{made['id']}", json=body, headers=admin).status_code == 422


def test_updating_to_a_taken_barcode_is_409(client, admin, make_product):
    first, second = make_product(), make_product()
    response = client.patch(
        f"/products/{second['id']}", json={"barcode": first["barcode"]}, headers=admin
    )
    assert response.status_code == 409 and list(response.json["errors"]) == ["barcode"]


def test_updating_an_unknown_product_is_404(client, admin):
    assert client.patch("/products/424242", json={"name": "X"}, headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("method", "change"),
    [("patch", {}), ("put", {}), ("patch", {"price": "11.00"})],
    ids=["patch-changing-nothing", "put-changing-nothing", "patch-changing-the-price"],
)
def test_a_change_to_a_product_deleted_meanwhile_is_a_404_changing_nothing_or_something(
    app, client, admin, make_product, method, change
):
    # A change that sets every field as it is sends no UPDATE and takes no row lock: only the
    # announcement's own UPDATE meets the deletion.
    made = make_product()
    fields = ("name", "price", "barcode", "description", "category_id", "expires_on", "active")
    body = {**{key: made[key] for key in fields}, **change}
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(text("DELETE FROM products.products WHERE id = :id"), made)
        response = answered_behind(
            app,
            holder,
            lambda: getattr(app.test_client(), method)(
                f"/products/{made['id']}", json=body, headers=admin
            ),
        )
    assert response.status_code == 404 and response.mimetype == PROBLEM, response.json
    assert client.get(f"/products/{made['id']}", headers=admin).status_code == 404
    with app.app_context():  # nor is a change announced
        assert db.session.scalars(select(outbox.Event.type)).all() == ["product.created"]


# --- list ---


def names(client, headers, query):
    response = client.get(f"/products?{query}", headers=headers)
    assert response.status_code == 200, response.json
    return [p["name"] for p in response.json["items"]]


def test_q_finds_a_plural_by_its_singular_in_the_name_or_the_description(
    client, user, make_product
):
    make_product(name="Teclados sem fio")
    make_product(name="Kit escritório", description="Mouse e teclado ABNT2")
    make_product(name="Monitor 24 polegadas")
    assert names(client, user, "q=teclado") == ["Kit escritório", "Teclados sem fio"]
    assert names(client, user, "q=TECLADOS") == ["Kit escritório", "Teclados sem fio"]
    assert names(client, user, "q=monitores") == ["Monitor 24 polegadas"]
    assert names(client, user, "q=teclado monitor") == []


def test_a_description_typed_with_combining_accents_is_found_by_its_words(
    client, user, make_product
):
    made = make_product(name="Pacote 500 g", description="Cafe\u0301 torrado em gra\u0303os")
    assert made["description"] == "Caf\u00e9 torrado em gr\u00e3os"
    assert names(client, user, "q=caf\u00e9") == ["Pacote 500 g"]
    assert names(client, user, "q=gr\u00e3os") == ["Pacote 500 g"]


@pytest.mark.parametrize("q", ["&&& !!", '"sem fechar', "a:*", "(()", "-", "' or 1=1 --"])
def test_q_with_search_syntax_or_symbols_is_never_an_error(client, user, make_product, q):
    make_product(name="Teclado")
    response = client.get("/products", query_string={"q": q}, headers=user)
    assert response.status_code == 200


def test_filters_by_category_price_range_and_active(
    client, user, admin, make_product, make_category
):
    food, drinks = make_category(), make_category()
    make_product(name="Arroz", price="20.00", category_id=food["id"])
    make_product(name="Feijão", price="8.50", category_id=food["id"], active=False)
    make_product(name="Suco", price="6.00", category_id=drinks["id"])
    assert names(client, user, f"category_id={food['id']}") == ["Arroz", "Feijão"]
    assert names(client, user, "min_price=6.01&max_price=20") == ["Arroz", "Feijão"]
    assert names(client, user, "max_price=6") == ["Suco"]
    assert names(client, user, "active=false") == ["Feijão"]
    assert names(client, user, f"active=true&category_id={food['id']}") == ["Arroz"]


def test_available_means_some_stock(app, client, user, make_product):
    stocked = make_product(name="Com estoque")
    make_product(name="Sem estoque")
    with app.app_context():
        db.session.execute(
            update(Product).where(Product.id == stocked["id"]).values(available_quantity=3)
        )
        db.session.commit()
    assert names(client, user, "available=true") == ["Com estoque"]
    assert names(client, user, "available=FALSE") == ["Sem estoque"]


@pytest.mark.parametrize("value", ["yes", "1", "on", ""])
def test_a_boolean_filter_is_true_or_false_else_a_422_naming_it(client, user, value):
    response = client.get(f"/products?available={value}", headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["available"]


@pytest.mark.parametrize("value", ["yes", 0, "false"])
def test_a_boolean_in_a_body_is_a_json_boolean_else_a_422_naming_it(
    client, admin, make_product, value
):
    made = make_product()
    response = client.patch(f"/products/{made['id']}", json={"active": value}, headers=admin)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["active"]
    assert client.get(f"/products/{made['id']}", headers=admin).json["active"] is True


def test_ids_fetches_several_products_in_one_call(client, user, make_product):
    made = [make_product() for _ in range(4)]
    wanted = f"{made[3]['id']},{made[0]['id']},{made[3]['id']}"
    response = client.get(f"/products?ids={wanted}&per_page=100", headers=user).json
    assert sorted(p["id"] for p in response["items"]) == [made[0]["id"], made[3]["id"]]
    assert response["total"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "ids=1,x",
        "ids=",
        "ids=1,,2",
        "ids=0",
        "ids=99999999999",
        "ids=" + "9" * 5000,
        "ids=" + ",".join(str(n) for n in range(1, 102)),
        "min_price=10&max_price=5",
        "min_price=-1",
        "max_price=abc",
        "available=maybe",
        "category_id=0",
        "q=",
        "sort=barcode",
        "sort=-stock",
        "colour=red",
        "per_page=101",
    ],
)
def test_bad_list_parameters_are_422(client, user, query):
    response = client.get(f"/products?{query}", headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM


def test_list_is_paginated_and_sorted_by_name_price_or_creation(client, user, make_product):
    make_product(name="Caderno", price="15.00")
    make_product(name="Borracha", price="2.00")
    make_product(name="Apontador", price="4.50")
    first = client.get("/products?per_page=2", headers=user).json
    assert [p["name"] for p in first["items"]] == ["Apontador", "Borracha"]
    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)
    assert names(client, user, "per_page=2&page=2") == ["Caderno"]
    assert names(client, user, "sort=-price") == ["Caderno", "Apontador", "Borracha"]
    assert names(client, user, "sort=price") == ["Borracha", "Apontador", "Caderno"]
    assert names(client, user, "sort=-created_at") == ["Apontador", "Borracha", "Caderno"]


def test_every_list_filter_and_sort_has_an_index(app):
    with app.app_context():
        indexes = dict(
            db.session.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'products'")
            ).all()
        )
    assert "USING gin (search)" in indexes["ix_products_search"]
    assert "(category_id, price, id)" in indexes["ix_products_category_id_price_id"]
    assert "(price, id)" in indexes["ix_products_price_id"]
    assert "(created_at, id)" in indexes["ix_products_created_at_id"]
    assert "(name)" in indexes["uq_products_name"] and "(barcode)" in indexes["uq_products_barcode"]
    assert "WHERE (available_quantity > 0)" in indexes["ix_products_available_name"]
    assert "WHERE (NOT active)" in indexes["ix_products_retired_name"]
    assert "(name)" in indexes["uq_categories_name"]


def test_the_search_column_is_generated_from_name_and_description(app, make_product):
    made = make_product(name="Cadeiras", description="Escritório")
    with app.app_context():
        vector = db.session.scalar(select(Product.search).where(Product.id == made["id"]))
    assert "'cadeir'" in vector and "'escritóri'" in vector
