"""The status workflow, editing and deleting, with inventory doing its part for real."""

from datetime import datetime, timedelta
from unittest.mock import ANY

import pytest
from sqlalchemy import func, insert, select

from services.inventory.models import Holding
from services.inventory.models import db as inventory_db
from services.kit import Unavailable, utcnow
from services.kit.failpoints import Crash
from services.kit.testing import deliver, from_service, rewired
from services.orders import orders
from services.orders.models import Order, ReservationEdit
from services.orders.models import db as orders_db

from .conftest import (
    inventory_answering,
    order_body,
    relay,
    reservations,
    stock_of,
    stored_orders,
)
from .test_payment_events import emitted


@pytest.fixture
def placed(client, user, make_client, make_product):
    """A pending order of 2 units (5 in stock), placed by user 10."""
    buyer, product = make_client(address=True), make_product(stock=5)
    response = client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user
    )
    assert response.status_code == 201
    return {"order": response.json, "product": product, "client": buyer}


def move(client, order_id, status, headers, note=None):
    return client.post(
        f"/orders/{order_id}/status", json={"status": status, "note": note}, headers=headers
    )


def holdings(inventory, client_id):
    with inventory.app.app_context():
        rows = (
            inventory_db.session.query(Holding.product_id, Holding.product_name, Holding.quantity)
            .filter_by(client_id=client_id)
            .all()
        )
        inventory_db.session.remove()
        return [tuple(row) for row in rows]


def test_the_whole_journey_pays_ships_delivers_and_gives_holdings(client, admin, placed, inventory):
    order, product = placed["order"], placed["product"]
    paid = move(client, order["id"], "paid", admin, note="pix 123")
    assert paid.status_code == 200 and paid.json["status"] == "paid"
    shipped = move(client, order["id"], "shipped", admin)
    assert shipped.status_code == 200
    assert stock_of(inventory, product["id"]) == {"on_hand": 3, "reserved": 0, "available": 3}
    assert reservations(inventory) == [(order["id"], "committed")]
    delivered = move(client, order["id"], "delivered", admin)
    assert delivered.status_code == 200
    history = delivered.json["history"]
    assert [(entry["status"], entry["by"]) for entry in history] == [
        ("pending", 10),
        ("paid", 1),
        ("shipped", 1),
        ("delivered", 1),
    ]
    assert history[1]["note"] == "pix 123" and all(entry["at"] for entry in history)
    assert relay(client.application) == 1
    assert holdings(inventory, placed["client"]["id"]) == [(product["id"], product["name"], 2)]


def test_order_delivered_redelivered_adds_holdings_once(client, admin, placed, inventory):
    from services.orders.models import db, outbox

    order = placed["order"]
    for status in ("paid", "shipped", "delivered"):
        assert move(client, order["id"], status, admin).status_code == 200
    assert relay(client.application) == 1
    with client.application.app_context():
        # As if the first answer had been lost: the relay sends the same event again.
        db.session.execute(
            db.update(outbox.Delivery).values(delivered_at=None, next_attempt_at=utcnow())
        )
        db.session.commit()
    assert relay(client.application) == 1
    assert len(holdings(inventory, placed["client"]["id"])) == 1


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), "shipped"),
        ((), "delivered"),
        ((), "pending"),
        (("paid",), "paid"),
        (("paid",), "delivered"),
        (("paid", "shipped"), "cancelled"),
        (("paid", "shipped"), "paid"),
        (("paid", "shipped", "delivered"), "cancelled"),
        (("cancelled",), "paid"),
        (("cancelled",), "cancelled"),
    ],
)
def test_a_transition_outside_the_machine_is_a_409(client, admin, placed, path, target):
    order_id = placed["order"]["id"]
    for status in path:
        assert move(client, order_id, status, admin).status_code == 200
    response = move(client, order_id, target, admin)
    assert response.status_code == 409
    status = path[-1] if path else "pending"
    assert response.json["current_status"] == status
    assert client.get(f"/orders/{order_id}", headers=admin).json["status"] == status


def test_a_step_sent_again_after_its_answer_was_lost_is_a_409_saying_the_status_it_made(
    client, admin, placed
):
    order_id = placed["order"]["id"]
    assert move(client, order_id, "paid", admin).status_code == 200
    again = move(client, order_id, "paid", admin)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert again.json["current_status"] == "paid"
    assert again.json["detail"] == "An order that is paid cannot become paid"


def test_the_status_routes_409_documents_current_status(client):
    document = client.get("/orders/openapi.json").json
    answer = document["paths"]["/orders/{order_id}/status"]["post"]["responses"]["409"]
    schema = answer["content"]["application/problem+json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    members = document["components"]["schemas"][name]["properties"]
    assert members["current_status"]["enum"] == [
        "pending",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
    ]


def test_cancelling_a_pending_order_releases_its_stock(client, user, placed, inventory):
    response = move(client, placed["order"]["id"], "cancelled", user)
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert stock_of(inventory, placed["product"]["id"]) == {
        "on_hand": 5,
        "reserved": 0,
        "available": 5,
    }


def test_an_admin_cancels_a_paid_order_and_its_stock_comes_back(client, admin, placed, inventory):
    move(client, placed["order"]["id"], "paid", admin)
    assert move(client, placed["order"]["id"], "cancelled", admin).status_code == 200
    assert stock_of(inventory, placed["product"]["id"])["available"] == 5


def test_a_user_may_not_pay_ship_or_deliver(client, user, placed):
    for status in ("paid", "shipped", "delivered"):
        assert move(client, placed["order"]["id"], status, user).status_code == 403


def test_a_user_may_not_cancel_another_users_order(client, stranger, placed):
    refused = move(client, placed["order"]["id"], "cancelled", stranger)
    assert refused.status_code == 403
    assert (
        refused.json["detail"] == "Only the user who placed the order, or an admin, may cancel it"
    )


def test_a_user_may_not_cancel_their_paid_order(client, user, admin, placed):
    move(client, placed["order"]["id"], "paid", admin)
    assert move(client, placed["order"]["id"], "cancelled", user).status_code == 403


def cancel_or_delete(client, admin, order_id, how):
    if how == "cancel":
        return move(client, order_id, "cancelled", admin)
    return client.delete(f"/orders/{order_id}", headers=admin)


# What a cancel and a delete answer, and the orders they leave stored.
DONE = {"cancel": 200, "delete": 204}
LEFT = {"cancel": lambda order_id: [(order_id, "cancelled")], "delete": lambda order_id: []}


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_with_inventory_down_a_cancel_or_a_delete_goes_on_and_the_outbox_releases_the_stock(
    client, admin, placed, inventory, how
):
    """Inventory heard nothing: the order changes all the same, `order.abandoned` in its
    transaction, and once the relay delivers it the reservation is released."""
    order, product = placed["order"], placed["product"]
    inventory.stop()
    try:
        response = cancel_or_delete(client, admin, order["id"], how)
    finally:
        inventory.start()
    assert response.status_code == DONE[how], response.json
    assert stored_orders(client.application) == LEFT[how](order["id"])
    assert emitted(client.application, "order.abandoned") == [{"order_id": order["id"]}]
    assert stock_of(inventory, product["id"])["reserved"] == 2
    relay(client.application)
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 0, "available": 5}
    assert reservations(inventory) == [(order["id"], "released")]


def test_with_inventory_down_a_paid_order_is_not_cancelled_for_its_stock_may_have_left(
    client, admin, placed, inventory
):
    """A paid order's reservation may have been committed by a ship whose answer was lost (its
    units gone): cancelling it unheard would refund goods that left. Nothing changes."""
    order, product = placed["order"], placed["product"]
    assert move(client, order["id"], "paid", admin).status_code == 200
    inventory.stop()
    try:
        response = move(client, order["id"], "cancelled", admin)
    finally:
        inventory.start()
    assert response.status_code == 503, response.json
    assert response.mimetype == "application/problem+json"
    assert stored_orders(client.application) == [(order["id"], "paid")]
    assert emitted(client.application, "order.abandoned") == []
    assert emitted(client.application, "order.cancelled") == []
    assert reservations(inventory) == [(order["id"], "reserved")]
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 2, "available": 3}


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_a_cancel_or_a_delete_whose_commit_fails_leaves_the_order_and_its_stock_as_they_were(
    client, admin, placed, inventory, monkeypatch, how
):
    """Inventory is asked to release only after the order's change is committed: a commit that
    fails never leaves the order open with its units back on sale."""
    from services.orders.models import db

    order, product = placed["order"], placed["product"]

    def failing_commit():
        raise RuntimeError("the order's commit failed")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = cancel_or_delete(client, admin, order["id"], how)
    monkeypatch.undo()
    assert response.status_code == 500
    assert stored_orders(client.application) == [(order["id"], "pending")]
    assert reservations(inventory) == [(order["id"], "reserved")]
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 2, "available": 3}
    assert emitted(client.application, "order.abandoned") == []


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_a_cancel_or_a_delete_that_dies_after_its_commit_has_the_outbox_release_the_stock(
    client, admin, placed, inventory, how
):
    """The process killed between the commit and inventory's release: the order changed, and
    its `order.abandoned`, committed with it, releases the reservation once delivered."""
    order, product = placed["order"], placed["product"]
    client.application.config["FAILPOINTS"] = {"orders.cancel_committed"}
    try:
        with pytest.raises(Crash):
            cancel_or_delete(client, admin, order["id"], how)
    finally:
        client.application.config.pop("FAILPOINTS")
    assert stored_orders(client.application) == LEFT[how](order["id"])
    assert reservations(inventory) == [(order["id"], "reserved")]
    relay(client.application)
    assert reservations(inventory) == [(order["id"], "released")]
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 0, "available": 5}


@pytest.mark.parametrize("inventory_is", ["late", "failing"])
def test_a_cancel_whose_release_goes_unanswered_cancels_and_the_outbox_releases_the_stock(
    client, admin, placed, inventory, inventory_is
):
    """Inventory may have released the stock without orders hearing it (its answer came too
    late, or it failed): a 503 saying the order did not change would leave it open with its
    stock maybe back on sale. It is cancelled, and the outbox tells inventory to release."""
    order, product = placed["order"], placed["product"]
    release = f"POST /inventory/reservations/{order['id']}/release"
    with inventory_answering(client.application, inventory, release, inventory_is):
        response = move(client, order["id"], "cancelled", admin)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert emitted(client.application, "order.abandoned") == [{"order_id": order["id"]}]
    relay(client.application)
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 0, "available": 5}
    assert reservations(inventory) == [(order["id"], "released")]


# --- editing ---


def test_editing_items_moves_the_reservation_and_the_total(
    client, user, placed, make_product, inventory
):
    order, first = placed["order"], placed["product"]
    second = make_product(stock=4, price="2.50")
    items = [
        {"product_id": first["id"], "quantity": 1},
        {"product_id": second["id"], "quantity": 4},
    ]
    response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert response.status_code == 200, response.json
    assert response.json["total"] == "20.00"
    assert stock_of(inventory, first["id"])["reserved"] == 1
    assert stock_of(inventory, second["id"])["reserved"] == 4


def test_an_edited_order_announces_its_new_total_and_the_edits_time_for_payments(
    client, user, placed
):
    order, product = placed["order"], placed["product"]
    items = [{"product_id": product["id"], "quantity": 3}]
    response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert response.status_code == 200, response.json
    assert emitted(client.application, "order.updated") == [
        {
            "order_id": order["id"],
            "client_id": order["client_id"],
            "total": response.json["total"],
            "status": "pending",
            "note": None,
            "updated_at": ANY,
        }
    ]
    [announced] = emitted(client.application, "order.updated")
    # The time GET /orders/{id} shows: payments compares it with the one it read.
    shown = client.get(f"/orders/{order['id']}", headers=user).json["updated_at"]
    assert datetime.fromisoformat(announced["updated_at"]) == datetime.fromisoformat(shown)
    assert datetime.fromisoformat(shown) > datetime.fromisoformat(order["updated_at"])
    assert response.json["total"] != order["total"]


def test_editing_beyond_the_stock_is_a_409_and_changes_nothing(client, user, placed, inventory):
    order, product = placed["order"], placed["product"]
    items = [{"product_id": product["id"], "quantity": 6}]
    response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert response.status_code == 409
    assert response.json["short"] == [{"product_id": product["id"], "requested": 6, "available": 5}]
    assert stock_of(inventory, product["id"])["reserved"] == 2
    assert client.get(f"/orders/{order['id']}", headers=user).json["items"][0]["quantity"] == 2


def test_editing_the_address_checks_it_belongs_to_the_client(client, user, placed, make_client):
    order, other = placed["order"], make_client(address=True)
    bad = client.patch(
        f"/orders/{order['id']}", json={"shipping_address_id": other["address_id"]}, headers=user
    )
    assert bad.status_code == 422
    good = client.patch(
        f"/orders/{order['id']}",
        json={"shipping_address_id": placed["client"]["address_id"], "payment_method": "boleto"},
        headers=user,
    )
    assert good.status_code == 200
    assert good.json["shipping_address_id"] == placed["client"]["address_id"]


def committed_behind_its_back(inventory, order_id, headers):
    """Inventory settled the reservation while the order is still pending here."""
    response = inventory.app.test_client().post(
        f"/inventory/reservations/{order_id}/commit",
        headers=from_service("orders", "inventory", headers),
    )
    assert response.status_code == 200


def test_editing_an_order_whose_reservation_is_settled_is_a_409_without_short(
    client, user, admin, placed, inventory
):
    order, product = placed["order"], placed["product"]
    committed_behind_its_back(inventory, order["id"], admin)
    items = [{"product_id": product["id"], "quantity": 1}]
    response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert response.status_code == 409, response.json
    assert "already committed" in response.json["detail"] and "short" not in response.json
    assert client.get(f"/orders/{order['id']}", headers=user).json["items"][0]["quantity"] == 2


def test_a_reservation_that_cannot_be_put_back_is_logged(
    client, user, admin, placed, inventory, monkeypatch, caplog
):
    order, product = placed["order"], placed["product"]

    def failing_write():
        # Inventory changed the lines; before this side stores them, the reservation is
        # settled, so putting the old lines back is refused.
        committed_behind_its_back(inventory, order["id"], admin)
        raise RuntimeError("the order's own write failed")

    monkeypatch.setattr("services.orders.events.utcnow", failing_write)
    items = [{"product_id": product["id"], "quantity": 1}]
    response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert response.status_code == 500
    assert (
        f"order {order['id']}: its reservation could not be put back: Inventory refused"
        in caplog.text
    )


def test_an_edit_inventory_answers_too_late_is_put_back_and_changes_nothing(
    client, user, placed, inventory
):
    """Inventory changed the lines, but orders gave up before hearing it: the old lines are put
    back before the 503, so its promise (nothing changed) holds for the stock too."""
    order, product = placed["order"], placed["product"]
    items = [{"product_id": product["id"], "quantity": 3}]
    put = f"PUT /inventory/reservations/{order['id']}"
    with inventory_answering(client.application, inventory, put, "late"):
        response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert response.status_code == 503, response.json
    assert client.get(f"/orders/{order['id']}", headers=user).json["items"][0]["quantity"] == 2
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 2, "available": 3}


def edited_to_3_with_the_put_back_failing(client, user, placed, inventory):
    """The edit's answer is lost (inventory took the 3 units), and so is the put-back's."""
    order, product = placed["order"], placed["product"]
    items = [{"product_id": product["id"], "quantity": 3}]
    put = f"PUT /inventory/reservations/{order['id']}"
    with inventory_answering(client.application, inventory, put, "late", "failing"):
        return client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)


def test_an_edit_whose_old_lines_cannot_be_put_back_ships_the_lines_of_the_order(
    client, user, admin, placed, inventory, caplog
):
    """The edit's answer was lost and putting the old lines back failed too: inventory holds
    the new lines, the order the old ones. That is logged, and shipping commits the order's."""
    order, product = placed["order"], placed["product"]
    response = edited_to_3_with_the_put_back_failing(client, user, placed, inventory)
    assert response.status_code == 503, response.json
    assert f"order {order['id']}: its reservation could not be put back" in caplog.text
    assert client.get(f"/orders/{order['id']}", headers=user).json["items"][0]["quantity"] == 2
    assert stock_of(inventory, product["id"])["reserved"] == 3

    assert move(client, order["id"], "paid", admin).status_code == 200
    shipped = move(client, order["id"], "shipped", admin)

    assert shipped.status_code == 200, shipped.json
    assert stock_of(inventory, product["id"]) == {"on_hand": 3, "reserved": 0, "available": 3}
    assert f"order {order['id']}: inventory held {{{product['id']}: 3}}" in caplog.text


def test_an_edit_inventory_never_heard_is_a_503_with_nothing_to_put_back(
    client, user, placed, inventory, caplog
):
    order, product = placed["order"], placed["product"]
    items = [{"product_id": product["id"], "quantity": 3}]
    inventory.stop()
    try:
        response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    finally:
        inventory.start()
    assert response.status_code == 503, response.json
    assert "put back" not in caplog.text
    assert stock_of(inventory, product["id"])["reserved"] == 2


def edits_under_way(app) -> list[int]:
    with app.app_context():
        marked = orders_db.session.scalars(select(ReservationEdit.order_id)).all()
        orders_db.session.remove()
        return list(marked)


def sweep(app, grace=timedelta(0)) -> None:
    with app.app_context():
        orders.sweep(grace)
        orders_db.session.remove()


def test_an_edit_killed_after_inventory_changed_the_lines_has_them_set_back_by_the_sweeper(
    client, user, placed, inventory
):
    """The worker died between inventory's commit and its own: the order keeps 2 units,
    inventory holds 4. The edit's mark, committed before inventory was asked, outlives it."""
    order, product = placed["order"], placed["product"]
    items = [{"product_id": product["id"], "quantity": 4}]
    client.application.config["FAILPOINTS"] = {"orders.edit_reserved"}
    try:
        with pytest.raises(Crash):
            client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    finally:
        client.application.config.pop("FAILPOINTS")
    assert client.get(f"/orders/{order['id']}", headers=user).json["items"][0]["quantity"] == 2
    assert stock_of(inventory, product["id"])["reserved"] == 4
    assert edits_under_way(client.application) == [order["id"]]
    # Not while a request could still be on its way.
    sweep(client.application, timedelta(seconds=60))
    assert stock_of(inventory, product["id"])["reserved"] == 4

    sweep(client.application)

    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 2, "available": 3}
    assert edits_under_way(client.application) == []


def test_an_edit_whose_old_lines_could_not_be_put_back_is_set_right_by_the_sweeper(
    client, user, placed, inventory
):
    product = placed["product"]
    response = edited_to_3_with_the_put_back_failing(client, user, placed, inventory)
    assert response.status_code == 503, response.json
    assert stock_of(inventory, product["id"])["reserved"] == 3

    sweep(client.application)

    assert stock_of(inventory, product["id"])["reserved"] == 2
    assert edits_under_way(client.application) == []


def test_a_stored_or_refused_edit_leaves_no_mark_and_one_never_heard_a_harmless_one(
    client, user, placed, inventory
):
    order, product = placed["order"], placed["product"]
    path = f"/orders/{order['id']}"

    def edit(quantity):
        items = [{"product_id": product["id"], "quantity": quantity}]
        return client.patch(path, json={"items": items}, headers=user)

    assert edit(3).status_code == 200
    assert edit(9).status_code == 409
    assert edits_under_way(client.application) == []
    inventory.stop()
    try:
        assert edit(1).status_code == 503
    finally:
        inventory.start()
    # Inventory may have heard it, as far as orders can tell: the sweeper sets the lines stored.
    assert edits_under_way(client.application) == [order["id"]]
    sweep(client.application)
    assert edits_under_way(client.application) == []
    assert stock_of(inventory, product["id"])["reserved"] == 3


def mark_left_behind(app, order_id) -> None:
    """An edit of the order that never finished, an hour ago."""
    with app.app_context():
        orders_db.session.execute(
            insert(ReservationEdit).values(order_id=order_id, since=func.now() - timedelta(hours=1))
        )
        orders_db.session.commit()
        orders_db.session.remove()


def test_a_refused_edit_keeps_the_mark_an_earlier_unfinished_edit_left(
    client, user, placed, inventory
):
    order, product = placed["order"], placed["product"]
    mark_left_behind(client.application, order["id"])
    items = [{"product_id": product["id"], "quantity": 9}]
    refused = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert refused.status_code == 409
    assert edits_under_way(client.application) == [order["id"]]


def test_a_sweep_stops_settling_edits_at_the_first_inventory_does_not_answer(
    client, user, make_client, make_product, inventory, monkeypatch
):
    buyer, product = make_client(), make_product(stock=10)
    placed = [
        client.post("/orders", json=order_body(buyer["id"], (product["id"], 1)), headers=user)
        for _ in range(2)
    ]
    for order in placed:
        assert order.status_code == 201
        mark_left_behind(client.application, order.json["id"])
    asked = []

    def unanswered(order_id, *args, **kwargs):
        asked.append(order_id)
        raise Unavailable("The inventory service could not settle")

    monkeypatch.setattr(orders.inventory, "replace", unanswered)
    sweep(client.application)
    assert len(asked) == 1
    assert sorted(edits_under_way(client.application)) == sorted(o.json["id"] for o in placed)


def test_the_sweeper_leaves_an_order_a_request_holds_and_settles_it_later(
    client, user, placed, inventory
):
    order, product = placed["order"], placed["product"]
    app = client.application
    mark_left_behind(app, order["id"])
    put = inventory.app.test_client().put(
        f"/inventory/reservations/{order['id']}",
        json={"items": [{"product_id": product["id"], "quantity": 4}]},
        headers=from_service("orders", "inventory", user),
    )
    assert put.status_code == 200
    with app.app_context(), orders_db.engine.connect() as request:
        request.execute(select(Order.id).where(Order.id == order["id"]).with_for_update())
        sweep(app)
        assert stock_of(inventory, product["id"])["reserved"] == 4
        request.rollback()
    assert edits_under_way(app) == [order["id"]]

    sweep(app)

    assert stock_of(inventory, product["id"])["reserved"] == 2
    assert edits_under_way(app) == []


def test_only_a_pending_order_can_be_edited(client, user, admin, placed):
    move(client, placed["order"]["id"], "paid", admin)
    response = client.patch(
        f"/orders/{placed['order']['id']}", json={"payment_method": "cash"}, headers=user
    )
    assert response.status_code == 409


def test_another_user_may_not_edit_the_order(client, stranger, placed):
    response = client.patch(
        f"/orders/{placed['order']['id']}", json={"payment_method": "cash"}, headers=stranger
    )
    assert response.status_code == 403


# --- deleting ---


def test_an_admin_deletes_a_pending_order_and_its_stock_comes_back(
    client, admin, placed, inventory
):
    response = client.delete(f"/orders/{placed['order']['id']}", headers=admin)
    assert response.status_code == 204
    assert stored_orders(client.application) == []
    assert stock_of(inventory, placed["product"]["id"])["available"] == 5


def test_a_deleted_pending_order_is_announced_cancelled_so_its_open_payment_is_let_go(
    client, admin, placed
):
    order = placed["order"]
    assert client.delete(f"/orders/{order['id']}", headers=admin).status_code == 204
    [cancelled] = emitted(client.application, "order.cancelled")
    assert cancelled == {
        **cancelled,
        "order_id": order["id"],
        "status": "cancelled",
        "previous_status": "pending",
        "note": "deleted",
    }


def test_a_delete_whose_release_goes_unanswered_deletes_and_the_outbox_releases_the_stock(
    client, admin, placed, inventory
):
    order, product = placed["order"], placed["product"]
    release = f"POST /inventory/reservations/{order['id']}/release"
    with inventory_answering(client.application, inventory, release, "failing"):
        response = client.delete(f"/orders/{order['id']}", headers=admin)
    assert response.status_code == 204, response.json
    assert stored_orders(client.application) == []
    [cancelled] = emitted(client.application, "order.cancelled")
    assert cancelled["order_id"] == order["id"] and cancelled["note"] == "deleted"
    relay(client.application)
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 0, "available": 5}


def test_a_user_may_not_delete_an_order(client, user, placed):
    assert client.delete(f"/orders/{placed['order']['id']}", headers=user).status_code == 403


def test_a_paid_order_cannot_be_deleted_but_a_cancelled_one_can(client, admin, placed):
    order_id = placed["order"]["id"]
    move(client, order_id, "paid", admin)
    assert client.delete(f"/orders/{order_id}", headers=admin).status_code == 409
    move(client, order_id, "cancelled", admin)
    assert client.delete(f"/orders/{order_id}", headers=admin).status_code == 204
    assert client.get(f"/orders/{order_id}", headers=admin).status_code == 404


def test_deleting_an_order_whose_reservation_is_settled_is_a_409_and_keeps_it(
    client, admin, placed, inventory
):
    order_id = placed["order"]["id"]
    committed_behind_its_back(inventory, order_id, admin)
    response = client.delete(f"/orders/{order_id}", headers=admin)
    assert response.status_code == 409, response.json
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "already committed" in response.json["detail"]
    assert stored_orders(client.application) == [(order_id, "pending")]


def lose_the_reservation(inventory, order_id):
    """Inventory holds no reservation for the order (it never got one, or lost it)."""
    from sqlalchemy import delete

    from services.inventory.models import Reservation, ReservationItem, db

    with inventory.app.app_context():
        lost = db.session.scalar(db.select(Reservation.id).filter_by(order_id=order_id))
        db.session.execute(delete(ReservationItem).filter_by(reservation_id=lost))
        db.session.execute(delete(Reservation).filter_by(id=lost))
        db.session.commit()


def test_editing_an_order_inventory_has_no_reservation_for_is_a_409(
    client, user, placed, inventory
):
    """A retry cannot make inventory find it: not a 503."""
    order, product = placed["order"], placed["product"]
    lose_the_reservation(inventory, order["id"])
    items = [{"product_id": product["id"], "quantity": 1}]
    response = client.patch(f"/orders/{order['id']}", json={"items": items}, headers=user)
    assert response.status_code == 409, response.json
    assert client.get(f"/orders/{order['id']}", headers=user).json["items"][0]["quantity"] == 2


def test_cancelling_an_order_inventory_has_no_reservation_for_succeeds_as_nothing_is_held(
    client, admin, placed, inventory
):
    """Releasing nothing meets the goal of a release: the order is not stuck as pending."""
    order_id = placed["order"]["id"]
    lose_the_reservation(inventory, order_id)
    response = move(client, order_id, "cancelled", admin)
    assert response.status_code == 200, response.json
    assert client.get(f"/orders/{order_id}", headers=admin).json["status"] == "cancelled"


def test_shipping_an_order_inventory_has_no_reservation_for_is_a_409_like_editing(
    client, admin, placed, inventory
):
    order_id = placed["order"]["id"]
    assert move(client, order_id, "paid", admin).status_code == 200
    lose_the_reservation(inventory, order_id)
    response = move(client, order_id, "shipped", admin)
    assert response.status_code == 409, response.json
    assert "no reservation" in response.json["detail"]
    assert response.json["current_status"] == "paid"
    assert client.get(f"/orders/{order_id}", headers=admin).json["status"] == "paid"


def test_deleting_an_order_inventory_has_no_reservation_for_deletes_it(
    client, admin, placed, inventory
):
    order_id = placed["order"]["id"]
    lose_the_reservation(inventory, order_id)
    response = client.delete(f"/orders/{order_id}", headers=admin)
    assert response.status_code == 204, response.json
    assert stored_orders(client.application) == []


def shipped_to_its_address(client, clients, user, admin, make_client, make_product):
    """An order to the buyer's address, placed, paid and shipped: its answer, and the buyer."""
    buyer, product = make_client(address=True), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1), shipping_address_id=buyer["address_id"])
    placed = client.post("/orders", json=body, headers=user)
    assert placed.status_code == 201, placed.json
    assert move(client, placed.json["id"], "paid", admin).status_code == 200
    shipped = move(client, placed.json["id"], "shipped", admin)
    assert shipped.status_code == 200, shipped.json
    return shipped.json, buyer


AS_SHIPPED = {
    "state": "SP",
    "city": "São Paulo",
    "street": "Av. Paulista",
    "number": "1000",
    "complement": None,
    "cep": "01310-100",
}


def test_a_shipped_order_keeps_the_address_it_shipped_to_when_the_client_edits_it(
    client, clients, user, admin, make_client, make_product
):
    order, buyer = shipped_to_its_address(client, clients, user, admin, make_client, make_product)
    assert order["shipped_to"] == AS_SHIPPED
    moved = clients.app.test_client().patch(
        f"/clients/{buyer['id']}/addresses/{buyer['address_id']}",
        json={"state": "BA", "city": "Salvador", "street": "Rua Chile", "cep": "40020000"},
        headers=user,
    )
    assert moved.status_code == 200, moved.json
    assert client.get(f"/orders/{order['id']}", headers=user).json["shipped_to"] == AS_SHIPPED


def test_an_order_not_yet_shipped_or_without_an_address_keeps_no_address(
    client, user, admin, placed
):
    assert placed["order"]["shipped_to"] is None
    assert move(client, placed["order"]["id"], "paid", admin).status_code == 200
    shipped = move(client, placed["order"]["id"], "shipped", admin)
    assert shipped.status_code == 200 and shipped.json["shipped_to"] is None


def test_an_order_ships_when_clients_cannot_give_its_address_and_keeps_none(
    client, clients, user, admin, make_client, make_product, caplog
):
    buyer, product = make_client(address=True), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1), shipping_address_id=buyer["address_id"])
    placed = client.post("/orders", json=body, headers=user)
    assert move(client, placed.json["id"], "paid", admin).status_code == 200
    urls = {**client.application.config["SERVICE_URLS"], "clients": "http://127.0.0.1:9"}
    with rewired(client.application, SERVICE_URLS=urls):
        shipped = move(client, placed.json["id"], "shipped", admin)
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped" and shipped.json["shipped_to"] is None
    assert (
        f"address {buyer['address_id']} of client {buyer['id']} could not be read as an order "
        "ships to it (clients did not answer): not kept"
    ) in caplog.text


def test_the_address_an_order_shipped_to_goes_with_its_deleted_client(
    client, clients, user, admin, make_client, make_product
):
    order, buyer = shipped_to_its_address(client, clients, user, admin, make_client, make_product)
    assert move(client, order["id"], "delivered", admin).status_code == 200
    gone = deliver(client.application, "client.deleted", {"client_id": buyer["id"]})
    assert gone.json["status"] == "processed"
    assert client.get(f"/orders/{order['id']}", headers=admin).json["shipped_to"] is None
