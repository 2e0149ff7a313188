"""Stock per product: made by `product.created`, read and filtered, moved by admins through the
ledger, and announced to products by `stock.changed` with a version that only grows."""

import threading
import uuid

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from services.inventory.models import Holding, Movement, Stock, db, outbox
from services.inventory.stock import on_product_deleted
from services.kit.testing import deliver


def stock_of(client, headers, product_id):
    return client.get(f"/inventory/stock/{product_id}", headers=headers)


def move(client, headers, product_id, quantity, reason="receipt", **extra):
    body = {"quantity": quantity, "reason": reason, **extra}
    return client.post(f"/inventory/stock/{product_id}/movements", json=body, headers=headers)


def stock_events(app):
    with app.app_context():
        events = db.session.scalars(
            select(outbox.Event)
            .where(outbox.Event.type == "stock.changed")
            .order_by(outbox.Event.id)
        ).all()
        return [event.payload["data"] for event in events]


def set_reserved(app, product_id, reserved):
    with app.app_context():
        db.session.execute(
            update(Stock).where(Stock.product_id == product_id).values(reserved=reserved)
        )
        db.session.commit()


# --- made by product.created ---


def test_product_created_makes_the_stock_row_with_its_initial_stock(app, client, user, make_stock):
    product_id = make_stock(initial_stock=25)
    response = stock_of(client, user, product_id)
    assert response.status_code == 200
    body = response.json
    assert body["product_id"] == product_id
    assert (body["on_hand"], body["reserved"], body["available"], body["reorder_level"]) == (
        25,
        0,
        25,
        0,
    )
    assert body["updated_at"]
    assert stock_events(app) == [{"product_id": product_id, "available": 25, "version": 1}]


def test_the_initial_stock_is_the_first_receipt_of_the_ledger(client, user, make_stock):
    product_id = make_stock(initial_stock=4)
    [movement] = client.get(f"/inventory/stock/{product_id}/movements", headers=user).json["items"]
    assert (movement["quantity"], movement["reason"], movement["on_hand_after"]) == (
        4,
        "receipt",
        4,
    )
    assert movement["created_by"] is None


def test_a_redelivered_product_created_does_not_double_the_stock(app, client, user):
    event_id = str(uuid.uuid4())
    data = {"product_id": 77, "initial_stock": 10}
    assert deliver(app, "product.created", data, event_id).json == {"status": "processed"}
    assert deliver(app, "product.created", data, event_id).json == {"status": "duplicate"}
    assert stock_of(client, user, 77).json["on_hand"] == 10


def test_a_second_product_created_for_the_same_product_does_not_add_stock(app, client, user):
    """Another event id (a re-import, a producer that emitted twice): ON CONFLICT DO NOTHING."""
    deliver(app, "product.created", {"product_id": 78, "initial_stock": 10})
    assert deliver(app, "product.created", {"product_id": 78, "initial_stock": 10}).json == {
        "status": "processed"
    }
    assert stock_of(client, user, 78).json["on_hand"] == 10
    assert len(stock_events(app)) == 1


def test_a_product_created_without_a_product_id_is_harmless(app, client):
    assert deliver(app, "product.created", {"initial_stock": 3}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Stock)) == 0


def test_product_deleted_removes_the_stock_and_the_holdings_of_the_product(
    app, client, user, make_stock
):
    gone, kept = make_stock(), make_stock()
    with app.app_context():
        for product_id in (gone, kept):
            db.session.add(
                Holding(client_id=1, product_id=product_id, product_name="X", quantity=1)
            )
        db.session.commit()
    assert deliver(app, "product.deleted", {"product_id": gone}).json == {"status": "processed"}
    assert stock_of(client, user, gone).status_code == 404
    assert stock_of(client, user, kept).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(Holding.product_id)).all() == [kept]


def test_stock_received_after_products_checked_is_closed_in_the_ledger_when_the_product_goes(
    app, client, admin, make_stock
):
    """products asked for stock on hand (0) before deleting, then a receipt landed: the units
    leave through a closing adjustment, so the append-only ledger still sums to what is left."""
    product_id = make_stock(0)
    assert move(client, admin, product_id, 10, "receipt").status_code == 201
    deleted = deliver(app, "product.deleted", {"product_id": product_id})
    assert deleted.json == {"status": "processed"}
    with app.app_context():
        ledger = db.session.scalars(
            select(Movement).where(Movement.product_id == product_id).order_by(Movement.id)
        ).all()
        assert db.session.get(Stock, product_id) is None
    assert sum(movement.quantity for movement in ledger) == 0
    closing = ledger[-1]
    assert (closing.quantity, closing.reason, closing.on_hand_after) == (-10, "adjustment", 0)
    assert closing.note == "product deleted" and closing.created_by is None


def test_stock_still_reserved_is_closed_in_the_ledger_when_the_product_goes(
    app, client, admin, make_stock
):
    product_id = make_stock(6)
    set_reserved(app, product_id, 4)
    assert deliver(app, "product.deleted", {"product_id": product_id}).json == {
        "status": "processed"
    }
    with app.app_context():
        ledger = db.session.scalars(
            select(Movement.quantity).where(Movement.product_id == product_id).order_by(Movement.id)
        ).all()
        assert db.session.get(Stock, product_id) is None
    assert ledger == [6, -6]


def test_a_product_deleted_without_stock_in_inventory_is_harmless(app):
    assert deliver(app, "product.deleted", {"product_id": 4242}).json == {"status": "processed"}
    with app.app_context():
        assert db.session.scalars(select(Movement).where(Movement.product_id == 4242)).all() == []


def test_a_product_created_that_arrives_after_its_deletion_makes_no_stock(app, client, user):
    """Each delivery is retried on its own: the `product.created` that was backing off lands
    after `product.deleted` (products let the deletion through: inventory had no stock row).
    A row made now would list 25 units of a product that no longer exists, for good."""
    assert deliver(app, "product.deleted", {"product_id": 88}).json == {"status": "processed"}
    late = deliver(app, "product.created", {"product_id": 88, "initial_stock": 25})
    assert late.json == {"status": "processed"}
    assert stock_of(client, user, 88).status_code == 404
    assert client.get("/inventory/stock", headers=user).json["total"] == 0
    assert client.get("/inventory/stock?low=false", headers=user).json["total"] == 0
    with app.app_context():
        assert db.session.scalars(select(Movement).where(Movement.product_id == 88)).all() == []
    assert stock_events(app) == []


def test_a_product_created_waits_for_a_product_deleted_in_progress_and_then_makes_nothing(
    app, client, user
):
    """The deletion's transaction is open (it found no row, its tombstone not yet committed)
    while `product.created` lands: without the product's lock the creation would see no
    tombstone, and its row would outlive the deletion, which could not see it."""
    answers = []
    with app.app_context():
        on_product_deleted({"product_id": 89})
        creation = threading.Thread(
            target=lambda: answers.append(
                deliver(app, "product.created", {"product_id": 89, "initial_stock": 25})
            )
        )
        creation.start()
        creation.join(1)
        assert creation.is_alive(), answers[0].json
        db.session.commit()
    creation.join(10)
    assert answers[0].json == {"status": "processed"}
    assert stock_of(client, user, 89).status_code == 404


# --- reading ---


def test_unknown_stock_is_a_404_problem(client, user):
    response = stock_of(client, user, 424242)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_reading_stock_needs_a_token(client, make_stock):
    assert client.get("/inventory/stock").status_code == 401


def test_stock_is_listed_a_page_at_a_time_and_filtered_by_product(client, user, make_stock):
    ids = [make_stock(initial_stock=n) for n in range(1, 6)]
    page = client.get("/inventory/stock?per_page=2&page=2", headers=user).json
    assert [item["product_id"] for item in page["items"]] == ids[2:4]
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 5)
    one = client.get(f"/inventory/stock?product_id={ids[3]}", headers=user).json
    assert [item["product_id"] for item in one["items"]] == [ids[3]]
    by_available = client.get("/inventory/stock?sort=-available", headers=user).json
    assert [item["available"] for item in by_available["items"]] == [5, 4, 3, 2, 1]


def test_low_lists_what_is_at_or_below_its_reorder_level(app, client, user, admin, make_stock):
    plenty, at_level, below = make_stock(10), make_stock(5), make_stock(2)
    for product_id in (plenty, at_level, below):
        client.patch(f"/inventory/stock/{product_id}", json={"reorder_level": 5}, headers=admin)
    low = client.get("/inventory/stock?low=true", headers=user).json
    assert [item["product_id"] for item in low["items"]] == [at_level, below]
    not_low = client.get("/inventory/stock?low=false", headers=user).json
    assert [item["product_id"] for item in not_low["items"]] == [plenty]
    set_reserved(app, plenty, 6)  # available 4: reservations count
    low = client.get("/inventory/stock?low=true", headers=user).json
    assert [item["product_id"] for item in low["items"]] == [plenty, at_level, below]


def test_low_stock_is_served_by_its_partial_index(app, client):
    with app.app_context():
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = db.session.execute(
            text(
                "EXPLAIN SELECT * FROM inventory.stock WHERE available <= reorder_level "
                "ORDER BY product_id LIMIT 20"
            )
        ).scalars()
        assert "ix_stock_low_product_id" in " ".join(plan)
        db.session.rollback()


def test_an_unknown_filter_or_sort_is_a_422(client, user):
    assert client.get("/inventory/stock?colour=red", headers=user).status_code == 422
    assert client.get("/inventory/stock?sort=on_hand", headers=user).status_code == 422


# --- reorder level ---


def test_the_admin_sets_the_reorder_level(app, client, admin, user, make_stock):
    product_id = make_stock(3)
    response = client.patch(
        f"/inventory/stock/{product_id}", json={"reorder_level": 8}, headers=admin
    )
    assert response.status_code == 200
    assert (response.json["reorder_level"], response.json["available"]) == (8, 3)
    assert stock_events(app)[-1] == {"product_id": product_id, "available": 3, "version": 2}


def test_a_user_may_not_set_the_reorder_level(client, user, make_stock):
    product_id = make_stock()
    response = client.patch(
        f"/inventory/stock/{product_id}", json={"reorder_level": 8}, headers=user
    )
    assert response.status_code == 403


def test_a_negative_reorder_level_or_an_unknown_product_is_refused(client, admin, make_stock):
    product_id = make_stock()
    bad = client.patch(f"/inventory/stock/{product_id}", json={"reorder_level": -1}, headers=admin)
    assert bad.status_code == 422 and "reorder_level" in bad.json["errors"]
    missing = client.patch("/inventory/stock/424242", json={"reorder_level": 1}, headers=admin)
    assert missing.status_code == 404


# --- movements ---


def test_a_receipt_adds_to_on_hand_and_is_recorded_with_who_and_what_on_hand_became(
    app, client, admin, make_stock
):
    product_id = make_stock(10)
    response = move(client, admin, product_id, 5, "receipt", note="NF 123")
    assert response.status_code == 201
    movement = response.json
    assert response.headers["Location"].endswith(
        f"/inventory/stock/{product_id}/movements/{movement['id']}"
    )
    assert movement["quantity"] == 5 and movement["reason"] == "receipt"
    assert movement["note"] == "NF 123" and movement["on_hand_after"] == 15
    assert movement["created_by"] == 1 and movement["created_at"]
    assert client.get(response.headers["Location"], headers=admin).json == movement
    assert stock_of(client, admin, product_id).json["on_hand"] == 15


@pytest.mark.parametrize("reason", ["adjustment", "return", "damage"])
def test_every_documented_reason_may_be_used(client, admin, make_stock, reason):
    product_id = make_stock(10)
    response = move(client, admin, product_id, -2, reason)
    assert response.status_code == 201 and response.json["on_hand_after"] == 8


@pytest.mark.parametrize("reason", ["theft", "sale", "", None])
def test_an_undocumented_reason_is_a_422(client, admin, make_stock, reason):
    product_id = make_stock(10)
    response = move(client, admin, product_id, 1, reason)
    assert response.status_code == 422 and "reason" in response.json["errors"]


def test_a_quantity_of_zero_is_a_422(client, admin, make_stock):
    product_id = make_stock(10)
    response = move(client, admin, product_id, 0)
    assert response.status_code == 422 and "quantity" in response.json["errors"]


def test_a_quantity_that_is_not_a_whole_number_is_a_422(client, admin, make_stock):
    product_id = make_stock(10)
    for quantity in (1.5, "3", None):
        assert move(client, admin, product_id, quantity).status_code == 422


def test_a_user_may_not_move_stock(client, user, make_stock):
    product_id = make_stock(10)
    assert move(client, user, product_id, 1).status_code == 403
    assert stock_of(client, user, product_id).json["on_hand"] == 10


def test_moving_stock_of_an_unknown_product_is_a_404(client, admin):
    assert move(client, admin, 424242, 1).status_code == 404


def test_a_movement_below_what_is_reserved_is_a_409_and_changes_nothing(
    app, client, admin, make_stock
):
    product_id = make_stock(10)
    set_reserved(app, product_id, 6)
    response = move(client, admin, product_id, -5, "damage")
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert "reserved" in response.json["detail"]
    stock = stock_of(client, admin, product_id).json
    assert (stock["on_hand"], stock["reserved"]) == (10, 6)
    assert move(client, admin, product_id, -4, "damage").status_code == 201


def test_a_repeated_idempotency_key_records_one_movement_and_answers_it_again(
    client, admin, make_stock
):
    product_id = make_stock(10)
    key = {**admin, "Idempotency-Key": "receipt-nf-123"}
    first = move(client, key, product_id, 5, "receipt", note="NF 123")
    again = move(client, key, product_id, 5, "receipt", note="NF 123")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith(
        f"/inventory/stock/{product_id}/movements/{first.json['id']}"
    )
    assert stock_of(client, admin, product_id).json["on_hand"] == 15
    ledger = client.get(f"/inventory/stock/{product_id}/movements", headers=admin).json
    assert ledger["total"] == 2  # the initial stock, and the receipt once


def test_an_idempotency_key_used_with_another_body_or_product_is_a_409(client, admin, make_stock):
    product_id, other = make_stock(10), make_stock(10)
    key = {**admin, "Idempotency-Key": "receipt-1"}
    assert move(client, key, product_id, 5).status_code == 201
    assert move(client, key, product_id, 6).status_code == 409
    assert move(client, key, other, 5).status_code == 409
    assert stock_of(client, admin, other).json["on_hand"] == 10


def test_a_refused_movement_lets_its_idempotency_key_go(app, client, admin, make_stock):
    product_id = make_stock(10)
    set_reserved(app, product_id, 6)
    key = {**admin, "Idempotency-Key": "damage-1"}
    assert move(client, key, product_id, -5, "damage").status_code == 409
    set_reserved(app, product_id, 0)
    assert move(client, key, product_id, -5, "damage").status_code == 201
    assert stock_of(client, admin, product_id).json["on_hand"] == 5


def test_stock_past_what_a_count_can_hold_is_a_422_with_errors_and_changes_nothing(
    client, admin, make_stock
):
    product_id = make_stock(2_000_000_000)
    response = move(client, admin, product_id, 1_000_000_000, "receipt")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"] == {
        "_body": ["A value, or what it adds up to, is larger than can be stored."]
    }
    assert stock_of(client, admin, product_id).json["on_hand"] == 2_000_000_000


def test_stock_can_never_go_below_zero(client, admin, make_stock):
    product_id = make_stock(3)
    assert move(client, admin, product_id, -4, "adjustment").status_code == 409


def test_the_database_itself_refuses_reserved_above_on_hand(app, make_stock):
    product_id = make_stock(3)
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(update(Stock).where(Stock.product_id == product_id).values(reserved=4))
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(update(Stock).where(Stock.product_id == product_id).values(reserved=-1))


def test_the_ledger_lists_movements_newest_first_a_page_at_a_time(client, admin, user, make_stock):
    product_id = make_stock(1)
    for quantity in (2, 3, -1):
        move(client, admin, product_id, quantity, "adjustment")
    page = client.get(f"/inventory/stock/{product_id}/movements?per_page=3", headers=user).json
    assert [m["quantity"] for m in page["items"]] == [-1, 3, 2]
    assert [m["on_hand_after"] for m in page["items"]] == [5, 6, 3]
    assert page["total"] == 4
    oldest = client.get(
        f"/inventory/stock/{product_id}/movements?sort=created_at&per_page=1", headers=user
    ).json
    assert oldest["items"][0]["reason"] == "receipt"


def test_the_ledger_of_an_unknown_product_is_a_404(client, user):
    response = client.get("/inventory/stock/424242/movements", headers=user)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_a_deleted_products_ledger_is_still_listed_with_its_closing_adjustment(
    app, client, admin, user, make_stock
):
    """The ledger outlives the stock row: an admin auditing where a deleted product's units went
    lists them, the closing adjustment first, and they sum to zero."""
    product_id = make_stock(4)
    assert move(client, admin, product_id, 3, "receipt").status_code == 201
    assert deliver(app, "product.deleted", {"product_id": product_id}).json == {
        "status": "processed"
    }
    assert stock_of(client, user, product_id).status_code == 404
    response = client.get(f"/inventory/stock/{product_id}/movements", headers=admin)
    assert response.status_code == 200
    page = response.json
    assert page["total"] == 3
    assert [(m["quantity"], m["reason"]) for m in page["items"]] == [
        (-7, "adjustment"),
        (3, "receipt"),
        (4, "receipt"),
    ]
    assert page["items"][0]["note"] == "product deleted"
    assert sum(m["quantity"] for m in page["items"]) == 0
    first = client.get(f"/inventory/stock/{product_id}/movements?per_page=1", headers=user).json
    assert (len(first["items"]), first["total"]) == (1, 3)


def test_a_ledger_whose_product_went_before_deletions_were_remembered_is_still_listed(
    app, client, user, make_stock
):
    """Products deleted before `deleted_products` existed left movements and no tombstone."""
    product_id = make_stock(2)
    with app.app_context():
        db.session.execute(delete(Stock).where(Stock.product_id == product_id))
        db.session.commit()
    response = client.get(f"/inventory/stock/{product_id}/movements", headers=user)
    assert response.status_code == 200
    assert [m["quantity"] for m in response.json["items"]] == [2]


def test_a_deleted_product_inventory_had_no_stock_for_lists_an_empty_ledger(app, client, user):
    assert deliver(app, "product.deleted", {"product_id": 4243}).json == {"status": "processed"}
    response = client.get("/inventory/stock/4243/movements", headers=user)
    assert response.status_code == 200
    assert (response.json["items"], response.json["total"]) == ([], 0)


def test_every_movement_announces_the_new_available_with_a_growing_version(
    app, client, admin, make_stock
):
    product_id = make_stock(10)
    move(client, admin, product_id, 5)
    move(client, admin, product_id, -3, "damage")
    assert stock_events(app) == [
        {"product_id": product_id, "available": 10, "version": 1},
        {"product_id": product_id, "available": 15, "version": 2},
        {"product_id": product_id, "available": 12, "version": 3},
    ]
    with app.app_context():
        assert db.session.get(Stock, product_id).version == 3
        assert db.session.scalar(select(func.count()).select_from(Movement)) == 3


def test_a_refused_movement_announces_nothing(app, client, admin, make_stock):
    product_id = make_stock(1)
    move(client, admin, product_id, -2, "damage")
    assert len(stock_events(app)) == 1


def test_the_ledger_documents_the_sale_it_shows_and_accepts_only_manual_reasons(
    client, admin, make_stock
):
    spec = client.get("/inventory/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert "sale" in schemas["Movement"]["properties"]["reason"]["enum"]
    body = spec["paths"]["/inventory/stock/{product_id}/movements"]["post"]["requestBody"]
    accepted = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schemas[accepted]["properties"]["reason"]["enum"] == [
        "receipt",
        "adjustment",
        "return",
        "damage",
    ]
    product_id = make_stock(5)
    sale = {"quantity": -1, "reason": "sale"}
    response = client.post(f"/inventory/stock/{product_id}/movements", json=sale, headers=admin)
    assert response.status_code == 422 and "reason" in response.json["errors"]
