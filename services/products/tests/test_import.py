"""POST /products/import: upsert by barcode, each row on its own."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from sqlalchemy import select, text

from services.kit.testing import DATABASE, from_service
from services.products.models import Product, db, outbox

from .conftest import barcode


def row(n, **fields):
    return {"name": f"Importado {n}", "price": "3.50", "barcode": barcode(n), **fields}


def test_import_creates_new_barcodes_and_updates_known_ones(app, client, admin, make_product):
    known = make_product(name="Antigo", price="1.00", barcode=barcode(1))
    response = client.post(
        "/products/import",
        json=[row(1, name="Renovado", price="2.00"), row(2), row(3)],
        headers=admin,
    )
    assert response.status_code == 200
    assert response.json == {"created": 2, "updated": 1, "rejected": []}
    renewed = client.get(f"/products/{known['id']}", headers=admin).json
    assert (renewed["name"], renewed["price"]) == ("Renovado", "2.00")
    assert client.get("/products", headers=admin).json["total"] == 3


def test_a_bad_row_is_rejected_with_its_index_and_reasons_and_the_others_land(
    app, client, admin, make_product
):
    make_product(name="Nome ocupado", barcode=barcode(50))
    rows = [
        row(1),
        row(2, barcode="7890000000020"),  # wrong check digit
        {"price": "1.00", "barcode": barcode(3)},  # no name
        "not an object",
        row(4, name="Nome ocupado"),  # another barcode holds the name
        row(5, category_id=999),  # no such category
        row(6, price="0"),
        row(7),
    ]
    response = client.post("/products/import", json=rows, headers=admin)
    assert response.status_code == 200
    body = response.json
    assert (body["created"], body["updated"]) == (2, 0)
    rejected = {r["index"]: r["errors"] for r in body["rejected"]}
    assert rejected == {
        1: {"barcode": ["The check digit does not match."]},
        2: {"name": ["Missing data for required field."]},
        3: {"_body": ["Invalid input type."]},
        4: {"name": ["already taken"]},
        5: {"category_id": ["No such category."]},
        6: {"price": ["Must be greater than 0."]},
    }
    assert all(r["reason"].startswith("Invalid fields: ") for r in body["rejected"])
    with app.app_context():
        stored = db.session.scalars(select(Product.name).order_by(Product.name)).all()
    assert stored == ["Importado 1", "Importado 7", "Nome ocupado"]


def test_a_null_row_is_rejected_on_its_own_and_the_others_land(app, client, admin):
    response = client.post("/products/import", json=[None, row(1), 1, row(2)], headers=admin)
    assert response.status_code == 200
    assert (response.json["created"], response.json["updated"]) == (2, 0)
    rejected = {r["index"]: r["errors"] for r in response.json["rejected"]}
    assert rejected == {
        0: {"_body": ["Invalid input type."]},
        2: {"_body": ["Invalid input type."]},
    }
    with app.app_context():
        stored = db.session.scalars(select(Product.name).order_by(Product.name)).all()
    assert stored == ["Importado 1", "Importado 2"]


def test_a_created_row_is_announced_as_created_a_changed_one_as_updated_a_rejected_one_not(
    app, client, admin, make_product
):
    known = make_product(barcode=barcode(1))
    client.post("/products/import", json=[row(1), row(2), row(3, price="x")], headers=admin)
    with app.app_context():
        events = db.session.scalars(select(outbox.Event).order_by(outbox.Event.id)).all()
        created = db.session.scalar(select(Product.id).where(Product.barcode == barcode(2)))
    announced = [(e.type, e.payload["data"]["product_id"]) for e in events[1:]]
    assert announced == [("product.updated", known["id"]), ("product.created", created)]
    assert events[1].payload["data"]["name"] == "Importado 1"
    assert events[2].payload["data"]["initial_stock"] == 0


def test_a_barcode_twice_in_one_import_is_created_then_updated(client, admin):
    response = client.post(
        "/products/import", json=[row(1), row(1, name="Segunda versão")], headers=admin
    )
    assert response.json == {"created": 1, "updated": 1, "rejected": []}
    [stored] = client.get("/products", headers=admin).json["items"]
    assert stored["name"] == "Segunda versão"


def test_an_empty_import_changes_nothing(client, admin):
    response = client.post("/products/import", json=[], headers=admin)
    assert response.json == {"created": 0, "updated": 0, "rejected": []}


def test_an_import_body_that_is_not_an_array_is_422_and_not_json_is_400(client, admin):
    as_object = client.post("/products/import", json=row(1), headers=admin)
    assert as_object.status_code == 422 and "_body" in as_object.json["errors"]
    assert client.post("/products/import", data="[", headers=admin).status_code == 400
    assert (
        client.post(
            "/products/import", data="[", headers={**admin, "Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_an_import_over_the_row_limit_is_422(client, admin):
    response = client.post("/products/import", json=[{}] * 1001, headers=admin)
    assert response.status_code == 422 and list(response.json["errors"]) == ["_body"]


def test_a_row_with_text_postgresql_cannot_store_is_rejected_and_the_others_land(
    app, client, admin
):
    # JSON escapes a lone surrogate and a NUL; neither can be stored in a text column.
    rows = [row(1), row(2, name="Ruim \x01"), row(3, description="a\x02b"), row(4)]
    body = json.dumps(rows).replace("\\u0001", "\\ud800").replace("\\u0002", "\\u0000")
    response = client.post(
        "/products/import", data=body, content_type="application/json", headers=admin
    )
    assert response.status_code == 200
    assert (response.json["created"], response.json["updated"]) == (2, 0)
    rejected = {r["index"]: list(r["errors"]) for r in response.json["rejected"]}
    assert rejected == {1: ["name"], 2: ["description"]}
    with app.app_context():
        stored = db.session.scalars(select(Product.name).order_by(Product.name)).all()
    assert stored == ["Importado 1", "Importado 4"]


def test_an_import_nested_ten_thousand_deep_is_a_400_not_a_500(client, admin):
    response = client.post(
        "/products/import", data="[" * 10_000, content_type="application/json", headers=admin
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def lock_product(connection, n):
    """Lock the product of barcode `n` on a SQLAlchemy or a plain psycopg connection."""
    if isinstance(connection, psycopg.Connection):
        connection.execute(
            "SELECT id FROM products.products WHERE barcode = %s FOR UPDATE", (barcode(n),)
        )
        return
    connection.execute(
        text("SELECT id FROM products.products WHERE barcode = :barcode FOR UPDATE"),
        {"barcode": barcode(n)},
    )


def wait_until_blocked(count):
    """Until `count` transactions wait for a lock (on the holder's, or, queued behind another
    waiter for the same row, on that waiter's)."""
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE pg_blocking_pids(pid) <> '{}'")
    deadline = time.monotonic() + 10
    with db.engine.connect() as watcher:
        while watcher.execute(waiting).scalar_one() < count:
            assert time.monotonic() < deadline, "the imports never waited"
            watcher.rollback()
            time.sleep(0.01)


def posted(app, path, rows, headers):
    with app.app_context():
        try:
            return app.test_client().post(path, json=rows, headers=headers)
        finally:
            db.session.remove()


def test_rows_written_in_barcode_order_are_still_reported_in_index_order(client):
    rows = [row(3), row(2, price="0"), row(1), "not an object", row(2)]
    answer = client.post(
        "/products/collected", json=rows, headers=from_service("collector", "products")
    )
    assert answer.status_code == 200
    assert [r["index"] for r in answer.json["rejected"]] == [1, 3]
    assert [(p["index"], p["created"]) for p in answer.json["products"]] == [
        (0, True),
        (2, True),
        (4, True),
    ]


def test_imports_crossing_the_same_barcodes_lock_them_in_one_order_and_both_land(
    app, admin, make_product
):
    make_product(barcode=barcode(1))
    make_product(barcode=barcode(2))
    collector = from_service("collector", "products")
    with ThreadPoolExecutor(max_workers=2) as pool, app.app_context():
        with db.engine.connect() as holder:
            lock_product(holder, 1)
            by_admin = pool.submit(posted, app, "/products/import", [row(1), row(2)], admin)
            by_collector = pool.submit(
                posted, app, "/products/collected", [row(2), row(1)], collector
            )
            wait_until_blocked(2)
            # Both wait for the first barcode, the collector's import holding none of the
            # others: the second is free, so neither can be waiting for the other.
            holder.execute(
                text("SELECT id FROM products.products WHERE barcode = :b FOR UPDATE NOWAIT"),
                {"b": barcode(2)},
            )
            holder.commit()
        answers = [by_admin.result(), by_collector.result()]
    assert [answer.status_code for answer in answers] == [200, 200], [a.json for a in answers]
    assert [(a.json["created"], a.json["updated"]) for a in answers] == [(0, 2), (0, 2)]


def test_an_import_postgresql_aborts_to_break_a_deadlock_is_run_again_and_lands(
    app, admin, make_product, database
):
    first = make_product(barcode=barcode(1))
    second = make_product(barcode=barcode(2))
    with ThreadPoolExecutor(max_workers=1) as pool, app.app_context():
        # PostgreSQL aborts the backend whose wait, once past its own deadlock_timeout, finds
        # the deadlock: the holder (the superuser's: products' role cannot set it) looks only
        # after 5 s, the import after 1 s, so on a busy host too the import is the one aborted.
        with psycopg.connect(database.superuser_dsn, dbname=DATABASE) as holder:
            holder.execute("SET LOCAL deadlock_timeout = '5s'")
            lock_product(holder, 2)
            rows = [row(1, price="7.00"), "not an object", row(2)]
            answer = pool.submit(posted, app, "/products/import", rows, admin)
            wait_until_blocked(1)
            lock_product(holder, 1)
            holder.commit()
        response = answer.result()
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["updated"]) == (0, 2)
    # Run again, the import reports each row once: the invalid one rejected, the others landed.
    assert [r["index"] for r in response.json["rejected"]] == [1]
    with app.app_context():
        prices = db.session.scalars(select(Product.price).order_by(Product.barcode)).all()
        events = db.session.scalars(select(outbox.Event).order_by(outbox.Event.id)).all()
    assert [str(price) for price in prices] == ["7.00", "3.50"]
    announced = [(e.type, e.payload["data"]["product_id"]) for e in events[2:]]
    assert announced == [("product.updated", first["id"]), ("product.updated", second["id"])]
