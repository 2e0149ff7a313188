"""What products announces (product.created, product.updated, product.deleted), what it hears
(stock.changed), and who may veto a deletion."""

import json
import uuid
from datetime import datetime

import pytest
from sqlalchemy import func, select

from services.kit.testing import build_app, deliver, unreachable_url
from services.products import create_app, deletion_guards
from services.products.models import Product, db, outbox


def stock_changed(app, product_id, available, version, event_id=None):
    data = {"product_id": product_id, "available": available, "version": version}
    return deliver(app, "stock.changed", data, event_id)


def available(client, headers, product_id):
    return client.get(f"/products/{product_id}", headers=headers).json["available_quantity"]


# --- stock.changed ---


def test_stock_changed_sets_the_available_quantity(app, client, user, make_product):
    made = make_product()
    response = stock_changed(app, made["id"], 12, version=1)
    assert response.json == {"status": "processed"}
    assert available(client, user, made["id"]) == 12


def test_a_stock_event_does_not_change_when_the_product_was_last_edited(
    app, client, user, make_product
):
    made = make_product()
    stock_changed(app, made["id"], 12, version=1)
    read = client.get(f"/products/{made['id']}", headers=user).json
    assert read["available_quantity"] == 12 and read["updated_at"] == made["updated_at"]


def test_an_older_stock_event_arriving_late_does_not_overwrite_a_newer_one(
    app, client, user, make_product
):
    made = make_product()
    stock_changed(app, made["id"], 5, version=7)
    stock_changed(app, made["id"], 40, version=6)
    stock_changed(app, made["id"], 30, version=7)
    assert available(client, user, made["id"]) == 5
    stock_changed(app, made["id"], 0, version=8)
    assert available(client, user, made["id"]) == 0


def test_a_redelivered_stock_event_is_applied_once(app, client, user, make_product):
    made = make_product()
    event_id = str(uuid.uuid4())
    assert stock_changed(app, made["id"], 3, 1, event_id).json == {"status": "processed"}
    assert stock_changed(app, made["id"], 3, 1, event_id).json == {"status": "duplicate"}
    assert available(client, user, made["id"]) == 3


def test_a_stock_event_for_an_unknown_product_or_without_its_fields_is_harmless(app, client):
    assert stock_changed(app, 424242, 3, 1).json == {"status": "processed"}
    assert deliver(app, "stock.changed", {}).json == {"status": "rejected"}


def test_an_unsigned_stock_event_is_refused(app, client, user, make_product):
    made = make_product()
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "type": "stock.changed",
            "data": {"product_id": made["id"], "available": 9, "version": 1},
        }
    ).encode()
    assert app.test_client().post("/internal/events", data=body).status_code == 401
    assert available(client, user, made["id"]) == 0


# --- product.updated ---


def announced(app, event_type):
    with app.app_context():
        events = db.session.scalars(
            select(outbox.Event).where(outbox.Event.type == event_type).order_by(outbox.Event.id)
        ).all()
        return [event.payload["data"] for event in events]


def test_a_change_announces_what_orders_copies_with_a_later_version(
    app, client, admin, make_product
):
    made = make_product()
    response = client.patch(
        f"/products/{made['id']}", json={"price": "12.50", "active": False}, headers=admin
    )
    assert response.status_code == 200
    [created] = announced(app, "product.created")
    [updated] = announced(app, "product.updated")
    assert updated == {
        "product_id": made["id"],
        "name": made["name"],
        "price": "12.50",
        "category_id": None,
        "active": False,
        "updated_at": response.json["updated_at"],
    }
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        created["updated_at"]
    )


def test_each_change_of_a_product_carries_a_newer_version_than_the_last(
    app, client, admin, make_product
):
    made = make_product()
    for price in ("11.00", "12.00", "13.00"):
        client.patch(f"/products/{made['id']}", json={"price": price}, headers=admin)
    versions = [
        datetime.fromisoformat(data["updated_at"]) for data in announced(app, "product.updated")
    ]
    assert len(versions) == 3 and versions == sorted(set(versions))


# --- delete ---


def test_deleting_with_no_owner_service_configured_deletes_and_announces_it(
    app, client, admin, make_product
):
    made = make_product()
    assert client.delete(f"/products/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"/products/{made['id']}", headers=admin).status_code == 404
    with app.app_context():
        event = db.session.scalar(
            select(outbox.Event).where(outbox.Event.type == "product.deleted")
        )
        assert event.payload["data"] == {"product_id": made["id"]}


def test_deleting_an_unknown_product_is_404(client, admin):
    assert client.delete("/products/424242", headers=admin).status_code == 404


@pytest.fixture(scope="module")
def app_with_inventory_down(database, jwt_keys, media_dir):
    """Inventory is configured, but nothing listens at its address."""
    return build_app(
        create_app,
        "products",
        database,
        jwt_keys,
        SERVICE_URLS={"inventory": unreachable_url()},
        MEDIA_DIR=str(media_dir),
    )


def test_deleting_while_inventory_cannot_answer_is_503_and_nothing_is_deleted(
    app, client, admin, make_product, app_with_inventory_down
):
    made = make_product()
    response = app_with_inventory_down.test_client().delete(
        f"/products/{made['id']}", headers=admin
    )
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    assert client.get(f"/products/{made['id']}", headers=admin).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(outbox.Event)) == 1


def test_a_guard_that_objects_refuses_the_deletion_with_409_and_its_reason(
    app, client, admin, make_product, monkeypatch
):
    made = make_product()
    monkeypatch.setitem(app.config, "SERVICE_URLS", {"inventory": "http://127.0.0.1:1"})
    monkeypatch.setitem(
        deletion_guards.DELETION_GUARDS, "inventory", lambda product_id: "3 units on hand"
    )
    response = client.delete(f"/products/{made['id']}", headers=admin)
    assert response.status_code == 409 and "3 units on hand" in response.json["detail"]
    with app.app_context():
        assert db.session.get(Product, made["id"]) is not None


def test_a_guard_is_consulted_only_when_its_service_is_configured(
    app, client, admin, make_product, monkeypatch
):
    made = make_product()
    monkeypatch.setitem(deletion_guards.DELETION_GUARDS, "orders", lambda product_id: "in 2 orders")
    assert client.delete(f"/products/{made['id']}", headers=admin).status_code == 204


def test_a_stale_if_match_on_a_delete_is_a_412_before_inventory_is_asked(
    app, client, admin, make_product, app_with_inventory_down
):
    made = make_product()
    stale = {**admin, "If-Match": 'W/"0000000000000000000000000000000000000000"'}
    response = app_with_inventory_down.test_client().delete(
        f"/products/{made['id']}", headers=stale
    )
    assert response.status_code == 412 and response.mimetype == "application/problem+json"
    assert client.get(f"/products/{made['id']}", headers=admin).status_code == 200
