"""The reservations orders make: all lines or none, idempotent by order_id, released or committed
once, and never an oversell or a deadlock under concurrency."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from services.inventory import create_app
from services.inventory.models import Movement, Reservation, Stock, db, outbox
from services.kit.testing import build_app


def reserve(client, headers, order_id, *lines):
    items = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]
    return client.post(
        "/inventory/reservations", json={"order_id": order_id, "items": items}, headers=headers
    )


def figures(client, headers, product_id):
    stock = client.get(f"/inventory/stock/{product_id}", headers=headers).json
    return stock["on_hand"], stock["reserved"], stock["available"]


def test_a_reservation_holds_every_line(client, user, make_stock):
    first, second = make_stock(10), make_stock(5)
    response = reserve(client, user, 101, (first, 3), (second, 5))
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/inventory/reservations/101")
    assert response.json["order_id"] == 101 and response.json["status"] == "reserved"
    assert response.json["items"] == [
        {"product_id": first, "quantity": 3},
        {"product_id": second, "quantity": 5},
    ]
    assert figures(client, user, first) == (10, 3, 7)
    assert figures(client, user, second) == (5, 5, 0)
    assert client.get("/inventory/reservations/101", headers=user).json == response.json


def test_lines_of_the_same_product_are_added_together(client, user, make_stock):
    product_id = make_stock(10)
    response = reserve(client, user, 102, (product_id, 2), (product_id, 3))
    assert response.json["items"] == [{"product_id": product_id, "quantity": 5}]
    assert figures(client, user, product_id) == (10, 5, 5)


def test_a_short_line_refuses_the_whole_reservation_naming_the_short_products(
    app, client, user, make_stock
):
    plenty, scarce = make_stock(10), make_stock(2)
    response = reserve(client, user, 103, (plenty, 1), (scarce, 3), (424242, 1))
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert response.json["short"] == [
        {"product_id": scarce, "requested": 3, "available": 2},
        {"product_id": 424242, "requested": 1, "available": 0},
    ]
    assert len(response.json["errors"]["items"]) == 2
    assert str(scarce) in response.json["detail"]
    assert figures(client, user, plenty) == (10, 0, 10)
    assert client.get("/inventory/reservations/103", headers=user).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_a_refused_order_may_try_again_once_there_is_stock(client, user, admin, make_stock):
    product_id = make_stock(1)
    assert reserve(client, user, 104, (product_id, 2)).status_code == 409
    body = {"quantity": 1, "reason": "receipt"}
    client.post(f"/inventory/stock/{product_id}/movements", json=body, headers=admin)
    assert reserve(client, user, 104, (product_id, 2)).status_code == 201


def test_reserving_again_for_the_same_order_answers_the_first_reservation(
    app, client, user, make_stock
):
    product_id = make_stock(10)
    first = reserve(client, user, 105, (product_id, 4))
    again = reserve(client, user, 105, (product_id, 4))
    assert (again.status_code, again.json) == (first.status_code, first.json)
    assert figures(client, user, product_id) == (10, 4, 6)


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"product_id": 1, "quantity": 1}]},
        {"order_id": 1, "items": []},
        {"order_id": 1, "items": [{"product_id": 1, "quantity": 0}]},
        {"order_id": 1, "items": [{"product_id": 1}]},
        {"order_id": 0, "items": [{"product_id": 1, "quantity": 1}]},
    ],
)
def test_a_malformed_reservation_is_a_422(client, user, body):
    assert client.post("/inventory/reservations", json=body, headers=user).status_code == 422


def test_a_reservation_without_any_credential_is_a_401(client):
    body = {"order_id": 1, "items": [{"product_id": 1, "quantity": 1}]}
    assert client.post("/inventory/reservations", json=body).status_code == 401


def test_every_reserved_line_announces_the_new_available(app, client, user, make_stock):
    product_id = make_stock(10)
    reserve(client, user, 106, (product_id, 4))
    with app.app_context():
        last = db.session.scalars(
            select(outbox.Event).order_by(outbox.Event.id.desc()).limit(1)
        ).one()
    assert last.payload["data"] == {"product_id": product_id, "available": 6, "version": 2}


# --- release and commit ---


def test_releasing_makes_the_units_available_again_and_twice_is_harmless(client, user, make_stock):
    product_id = make_stock(10)
    reserve(client, user, 107, (product_id, 4))
    response = client.post("/inventory/reservations/107/release", headers=user)
    assert response.status_code == 200 and response.json["status"] == "released"
    assert figures(client, user, product_id) == (10, 0, 10)
    again = client.post("/inventory/reservations/107/release", headers=user)
    assert again.status_code == 200 and again.json["status"] == "released"
    assert figures(client, user, product_id) == (10, 0, 10)


def test_committing_takes_the_units_off_hand_and_writes_a_sale_and_twice_is_harmless(
    app, client, user, make_stock
):
    first, second = make_stock(10), make_stock(3)
    reserve(client, user, 108, (first, 4), (second, 3))
    response = client.post("/inventory/reservations/108/commit", headers=user)
    assert response.status_code == 200 and response.json["status"] == "committed"
    assert figures(client, user, first) == (6, 0, 6)
    assert figures(client, user, second) == (0, 0, 0)
    ledger = client.get(f"/inventory/stock/{first}/movements", headers=user).json["items"]
    assert (ledger[0]["quantity"], ledger[0]["reason"], ledger[0]["on_hand_after"]) == (
        -4,
        "sale",
        6,
    )
    assert ledger[0]["note"] == "order 108" and ledger[0]["created_by"] == 10
    assert client.post("/inventory/reservations/108/commit", headers=user).status_code == 200
    assert figures(client, user, first) == (6, 0, 6)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Movement).where(Movement.reason == "sale")
            )
            == 2
        )


def test_a_released_reservation_cannot_be_committed_nor_a_committed_one_released(
    client, user, make_stock
):
    product_id = make_stock(10)
    reserve(client, user, 109, (product_id, 1))
    reserve(client, user, 110, (product_id, 1))
    client.post("/inventory/reservations/109/release", headers=user)
    client.post("/inventory/reservations/110/commit", headers=user)
    assert client.post("/inventory/reservations/109/commit", headers=user).status_code == 409
    assert client.post("/inventory/reservations/110/release", headers=user).status_code == 409
    assert figures(client, user, product_id) == (9, 0, 9)


def test_releasing_or_committing_an_unknown_order_is_a_404(client, user):
    assert client.post("/inventory/reservations/999/release", headers=user).status_code == 404
    assert client.post("/inventory/reservations/999/commit", headers=user).status_code == 404
    assert client.get("/inventory/reservations/999", headers=user).status_code == 404


def test_a_movement_cannot_take_away_what_an_order_reserved(client, user, admin, make_stock):
    product_id = make_stock(5)
    reserve(client, user, 111, (product_id, 4))
    body = {"quantity": -2, "reason": "damage"}
    response = client.post(f"/inventory/stock/{product_id}/movements", json=body, headers=admin)
    assert response.status_code == 409


# --- under concurrency ---


@pytest.fixture(scope="module")
def busy_app(database, jwt_keys):
    """The service with a pool as large as the crowd, so every request reaches the row lock."""
    app = build_app(
        create_app,
        "inventory",
        database,
        jwt_keys,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 60, "max_overflow": 0, "pool_timeout": 30},
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def crowd(app, calls):
    """Run every call at once from its own thread (a barrier lines them up)."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call(app.test_client())

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_fifty_orders_for_twenty_units_reserve_exactly_twenty(busy_app, client, user, make_stock):
    product_id = make_stock(20)
    calls = [
        (lambda tester, order_id=order_id: reserve(tester, user, order_id, (product_id, 1)))
        for order_id in range(1, 51)
    ]
    statuses = Counter(response.status_code for response in crowd(busy_app, calls))
    assert statuses == {201: 20, 409: 30}
    assert figures(client, user, product_id) == (20, 20, 0)
    with busy_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reservation)) == 20


def test_the_same_order_sent_many_times_at_once_is_reserved_once(
    busy_app, client, user, make_stock
):
    product_id = make_stock(20)
    calls = [(lambda tester: reserve(tester, user, 500, (product_id, 3))) for _ in range(20)]
    responses = crowd(busy_app, calls)
    assert {response.status_code for response in responses} == {201}
    assert len({str(response.json) for response in responses}) == 1
    assert figures(client, user, product_id) == (20, 3, 17)


def test_orders_naming_two_products_in_opposite_orders_never_deadlock(
    busy_app, client, user, make_stock
):
    first, second = make_stock(1000), make_stock(1000)
    rounds, per_side = 10, 4
    order_ids = iter(range(1000, 2000))
    for _ in range(rounds):
        calls = []
        for _ in range(per_side):
            calls.append(lambda t, o=next(order_ids): reserve(t, user, o, (first, 1), (second, 1)))
            calls.append(lambda t, o=next(order_ids): reserve(t, user, o, (second, 1), (first, 1)))
        responses = crowd(busy_app, calls)
        assert {r.status_code for r in responses} == {201}, [r.json for r in responses]
    reserved = rounds * per_side * 2
    assert figures(client, user, first) == (1000, reserved, 1000 - reserved)
    assert figures(client, user, second) == (1000, reserved, 1000 - reserved)
    # Settling them at once, half released and half committed, is as free of deadlocks.
    settle = [
        (
            lambda t, o=order_id: t.post(
                f"/inventory/reservations/{o}/{'release' if o % 2 else 'commit'}", headers=user
            )
        )
        for order_id in range(1000, 1000 + reserved)
    ]
    assert {r.status_code for r in crowd(busy_app, settle)} == {200}
    committed = reserved // 2
    assert figures(client, user, first) == (1000 - committed, 0, 1000 - committed)
    with busy_app.app_context():
        stock = db.session.get(Stock, second)
        assert (stock.on_hand, stock.reserved) == (1000 - committed, 0)
