"""What orders asks of inventory beyond reserving: changing an order's lines (PUT), giving back
an abandoned order's stock, and the holdings of a delivered order (both events, idempotent)."""

import threading

from sqlalchemy import func, select

from services.inventory.holdings import on_order_delivered
from services.inventory.models import Holding, Stock, db
from services.inventory.reservations import on_order_abandoned
from services.inventory.stock import on_product_deleted
from services.kit.testing import deliver, deliver_batch

from .test_reservations import figures, reserve


def adjust(client, headers, order_id, *lines):
    items = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]
    return client.put(f"/inventory/reservations/{order_id}", json={"items": items}, headers=headers)


def test_changing_the_lines_moves_what_is_reserved(client, user, make_stock):
    first, second = make_stock(10), make_stock(5)
    reserve(client, user, 7, (first, 3))
    response = adjust(client, user, 7, (first, 1), (second, 5))
    assert response.status_code == 200
    assert response.json["items"] == [
        {"product_id": first, "quantity": 1},
        {"product_id": second, "quantity": 5},
    ]
    assert figures(client, user, first) == (10, 1, 9)
    assert figures(client, user, second) == (5, 5, 0)


def test_the_units_already_held_count_towards_the_new_lines(client, user, make_stock):
    product = make_stock(5)
    reserve(client, user, 7, (product, 4))
    assert adjust(client, user, 7, (product, 5)).status_code == 200
    assert figures(client, user, product) == (5, 5, 0)


def test_a_change_beyond_the_stock_is_a_409_and_changes_nothing(client, user, make_stock):
    first, second = make_stock(10), make_stock(2)
    reserve(client, user, 7, (first, 3))
    response = adjust(client, user, 7, (first, 1), (second, 3))
    assert response.status_code == 409
    assert response.json["short"] == [{"product_id": second, "requested": 3, "available": 2}]
    assert figures(client, user, first) == (10, 3, 7)
    assert figures(client, user, second) == (2, 0, 2)


def test_a_settled_reservation_cannot_change(client, user, make_stock):
    product = make_stock(10)
    reserve(client, user, 7, (product, 3))
    client.post("/inventory/reservations/7/release", headers=user)
    assert adjust(client, user, 7, (product, 1)).status_code == 409
    assert adjust(client, user, 8, (product, 1)).status_code == 404


def test_an_abandoned_order_gives_its_stock_back_once(app, client, user, make_stock):
    product = make_stock(10)
    reserve(client, user, 7, (product, 3))
    assert deliver(app, "order.abandoned", {"order_id": 7}).json == {"status": "processed"}
    assert deliver(app, "order.abandoned", {"order_id": 7}).status_code == 200
    assert deliver(app, "order.abandoned", {"order_id": 99}).status_code == 200
    assert figures(client, user, product) == (10, 0, 10)
    assert client.get("/inventory/reservations/7", headers=user).json["status"] == "released"


def test_a_reservation_after_its_order_was_abandoned_is_released_and_holds_nothing(
    app, client, user, make_stock
):
    """The order's reserve comes after its `order.abandoned` (a retry resuming the order while
    the sweeper deleted it): a reservation made now would hold its units for good. The answer
    is `released` (orders then abandons the order), and nothing is taken or recorded."""
    product = make_stock(10)
    assert deliver(app, "order.abandoned", {"order_id": 9}).json == {"status": "processed"}
    late = reserve(client, user, 9, (product, 3))
    assert late.status_code == 201
    assert (late.json["status"], late.json["items"]) == ("released", [])
    assert reserve(client, user, 9, (product, 3)).json == late.json
    assert client.get("/inventory/reservations/9", headers=user).json == late.json
    assert figures(client, user, product) == (10, 0, 10)
    ledger = client.get(f"/inventory/stock/{product}/movements", headers=user).json
    assert [line["reason"] for line in ledger["items"]] == ["receipt"]


def test_a_reserve_waits_for_an_order_abandoned_in_progress_and_is_then_released(
    app, client, user, make_stock
):
    """The event's transaction is open (its released reservation not yet committed) while the
    reserve comes: without the order id's turn the reserve would not see it and would take the
    units."""
    product = make_stock(10)
    answers = []
    with app.app_context():
        on_order_abandoned({"order_id": 9})
        reserving = threading.Thread(
            target=lambda: answers.append(reserve(app.test_client(), user, 9, (product, 3)))
        )
        reserving.start()
        reserving.join(1)
        assert reserving.is_alive(), answers[0].json
        db.session.commit()
    reserving.join(10)
    assert answers[0].status_code == 201 and answers[0].json["status"] == "released"
    assert figures(client, user, product) == (10, 0, 10)


def test_an_order_abandoned_while_its_reservation_is_being_made_releases_it(
    app, client, user, make_stock
):
    """The reserve has written its row but not committed (here: waiting for the stock row's
    lock) when `order.abandoned` lands: the event cannot see the row, and without waiting for it
    would leave the reservation to hold its units for good."""
    product = make_stock(10)
    answers, heard = [], []
    with app.app_context():
        db.session.get(Stock, product, with_for_update=True)
        reserving = threading.Thread(
            target=lambda: answers.append(reserve(app.test_client(), user, 9, (product, 3)))
        )
        reserving.start()
        reserving.join(1)
        assert reserving.is_alive(), answers[0].json
        abandoning = threading.Thread(
            target=lambda: heard.append(deliver(app, "order.abandoned", {"order_id": 9}))
        )
        abandoning.start()
        abandoning.join(1)
        assert abandoning.is_alive(), heard[0].json
        db.session.commit()
    reserving.join(10)
    abandoning.join(10)
    assert answers[0].json["status"] == "reserved"
    assert heard[0].json == {"status": "processed"}
    assert client.get("/inventory/reservations/9", headers=user).json["status"] == "released"
    assert figures(client, user, product) == (10, 0, 10)


def test_a_delivered_order_gives_the_client_holdings_once(app, client, user):
    data = {
        "order_id": 5,
        "client_id": 42,
        "items": [
            {"product_id": 1, "product_name": "Teclado", "quantity": 2},
            {"product_id": 2, "product_name": "Mouse", "quantity": 1},
        ],
    }
    event_id = "8f14e45f-ceea-467f-a0e6-1b7a4a0b0c11"
    assert deliver(app, "order.delivered", data, event_id).json == {"status": "processed"}
    assert deliver(app, "order.delivered", data, event_id).json == {"status": "duplicate"}
    with app.app_context():
        rows = db.session.execute(
            select(Holding.product_id, Holding.product_name, Holding.quantity)
            .where(Holding.client_id == 42)
            .order_by(Holding.product_id)
        ).all()
    assert [tuple(row) for row in rows] == [(1, "Teclado", 2), (2, "Mouse", 1)]
    listed = client.get("/inventory/clients/42/holdings", headers=user).json
    assert listed["total"] == 2


def test_a_malformed_delivered_order_is_rejected_and_writes_nothing(app):
    def holdings():
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(Holding))

    before = holdings()
    half_read = {
        "client_id": 9,
        "items": [{"product_id": 1, "product_name": "X", "quantity": 1}, {"product_id": "x"}],
    }
    assert deliver(app, "order.delivered", half_read).json == {"status": "rejected"}
    assert holdings() == before


def test_a_malformed_event_in_a_batch_is_rejected_alone_and_the_others_are_taken(app):
    def holdings(client_id):
        with app.app_context():
            return db.session.execute(
                select(Holding.product_id, Holding.quantity).where(Holding.client_id == client_id)
            ).all()

    def delivered(order_id, client_id, *items):
        return ("order.delivered", {"order_id": order_id, "client_id": client_id, "items": items})

    line = {"product_id": 1, "product_name": "Teclado", "quantity": 2}
    answer = deliver_batch(
        app,
        [
            delivered(61, 61, line),
            # Its first line would be written before the second fails to read.
            delivered(62, 62, line, {"product_id": "x"}),
            delivered(63, 63, {**line, "quantity": 3}),
        ],
    )
    assert answer.json == {"statuses": ["processed", "rejected", "processed"]}
    assert [tuple(row) for row in holdings(61)] == [(1, 2)]
    assert holdings(62) == []
    assert [tuple(row) for row in holdings(63)] == [(1, 3)]


def test_an_order_delivered_after_its_client_was_deleted_gives_no_holdings(app, client, user):
    """Clients and orders have separate relays: `client.deleted` may land before a delayed
    `order.delivered` of the same client, whose holdings would then never be removed."""
    assert deliver(app, "client.deleted", {"client_id": 7}).json == {"status": "processed"}
    data = {
        "order_id": 70,
        "client_id": 7,
        "items": [{"product_id": 1, "product_name": "Teclado", "quantity": 2}],
    }
    assert deliver(app, "order.delivered", data).json == {"status": "processed"}
    with app.app_context():
        assert db.session.scalars(select(Holding).where(Holding.client_id == 7)).all() == []
    assert client.get("/inventory/clients/7/holdings", headers=user).json["total"] == 0


def test_an_order_delivered_after_a_product_was_deleted_gives_no_holding_of_it(app, client, user):
    """An order placed while `product.deleted` was on its way (products' guard saw no order):
    its delivery, later, would give a holding of a product that is gone, which nothing removes."""
    assert deliver(app, "product.deleted", {"product_id": 2}).json == {"status": "processed"}
    data = {
        "order_id": 80,
        "client_id": 8,
        "items": [
            {"product_id": 1, "product_name": "Teclado", "quantity": 2},
            {"product_id": 2, "product_name": "Mouse", "quantity": 1},
        ],
    }
    assert deliver(app, "order.delivered", data).json == {"status": "processed"}
    with app.app_context():
        held = db.session.scalars(select(Holding.product_id).where(Holding.client_id == 8)).all()
    assert held == [1]


def delivery_of(client_id, *product_ids):
    items = [{"product_id": p, "product_name": f"Produto {p}", "quantity": 1} for p in product_ids]
    return {"order_id": client_id, "client_id": client_id, "items": items}


def held_products(app, client_id):
    with app.app_context():
        return db.session.scalars(
            select(Holding.product_id).where(Holding.client_id == client_id).order_by(Holding.id)
        ).all()


def test_two_deliveries_of_the_same_products_in_opposite_orders_neither_wait_nor_deadlock(app):
    """Two inbox bodies keep each product's lock until they commit: one delivers product 91 then
    92, the other 92 then 91. Taken alone, the locks deadlocked (Postgres aborted one body: a
    503, its events delivered again later); shared, neither body waits for the other."""
    halfway = threading.Barrier(2, timeout=10)
    errors = []

    def body(client_id, first, second):
        try:
            with app.app_context():
                on_order_delivered(delivery_of(client_id, first))
                halfway.wait()
                on_order_delivered(delivery_of(client_id, second))
                db.session.commit()
        except Exception as exc:  # what the test reports
            errors.append(exc)

    bodies = [
        threading.Thread(target=body, args=(93, 91, 92)),
        threading.Thread(target=body, args=(94, 92, 91)),
    ]
    for thread in bodies:
        thread.start()
    for thread in bodies:
        thread.join(20)
    assert errors == []
    assert held_products(app, 93) == [91, 92]
    assert held_products(app, 94) == [92, 91]


def test_a_product_deleted_while_a_delivery_of_it_is_open_waits_and_then_removes_its_holding(app):
    """The writers share a product's lock, the deletion takes it alone: it waits for the
    delivery's commit and then sees (and removes) the holding, which would otherwise outlive
    the product."""
    deleted = threading.Event()

    def delete_product():
        with app.app_context():
            on_product_deleted({"product_id": 95})
            db.session.commit()
        deleted.set()

    with app.app_context():
        on_order_delivered(delivery_of(96, 95))
        deletion = threading.Thread(target=delete_product)
        deletion.start()
        assert not deleted.wait(1)
        db.session.commit()
    deletion.join(10)
    assert deleted.is_set()
    assert held_products(app, 96) == []
