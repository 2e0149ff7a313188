"""An order is answered as one moment saw it: its total, lines, status and history agree even
when a change commits between the SELECTs that read them (the row, then each relationship), in
a GET and in the answer of an edit or a status step, read again after its own commit."""

from decimal import Decimal

import pytest
from sqlalchemy import event, text

from services.kit.testing import changed_after_reading
from services.orders.models import db

from .conftest import order_body

# What an edit of the lines and a status step commit together: one more unit on each line, the
# total following, and the order moved to :status with its history saying so.
CHANGE_MEANWHILE = [
    "UPDATE orders.order_items SET quantity = quantity + 1, line_total = line_total + unit_price "
    "WHERE order_id = :order_id",
    "UPDATE orders.orders SET status = :status, total = "
    "(SELECT sum(line_total) FROM orders.order_items WHERE order_id = :order_id) "
    "WHERE id = :order_id",
    "INSERT INTO orders.order_history (order_id, status, by_service) "
    "VALUES (:order_id, :status, 'payments')",
]


@pytest.fixture
def order_id(client, user, make_client, make_product):
    """A pending order of two lines: 2 units at 10.00 and 1 at 5.50."""
    buyer = make_client()
    first, second = make_product(price="10.00"), make_product(price="5.50")
    body = order_body(buyer["id"], (first["id"], 2), (second["id"], 1))
    response = client.post("/orders", json=body, headers=user)
    assert response.status_code == 201, response.json
    assert response.json["total"] == "25.50"
    return response.json["id"]


def _read_while_it_changes(
    app, client, headers, url, order_id, method="GET", body=None, status="paid"
) -> dict:
    """`method` `url`, with the change (to `status`) committed by another transaction right
    after the request's first plain SELECT of the order's row, before its lines and history are
    read. (An edit or a status step locks the row FOR UPDATE first, and reads it plainly only
    for its answer, after its commit.)"""
    params = {"order_id": order_id, "status": status}
    with changed_after_reading(app, "orders.orders", CHANGE_MEANWHILE, params) as changed:
        response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 200, response.json
    assert changed, "the change was never made"
    return response.json


def _agrees_with_itself(order: dict) -> None:
    assert Decimal(order["total"]) == sum(Decimal(line["line_total"]) for line in order["items"])
    assert order["status"] == order["history"][-1]["status"]


def _read_after(client, headers, order_id) -> tuple[str, str]:
    """The order's status and total as the next read sees them, once the change committed."""
    after = client.get(f"/orders/{order_id}", headers=headers).json
    _agrees_with_itself(after)
    return after["status"], after["total"]


def test_an_order_read_while_its_lines_and_status_change_agrees_with_itself(
    app, client, user, order_id
):
    answered = _read_while_it_changes(app, client, user, f"/orders/{order_id}", order_id)
    _agrees_with_itself(answered)
    assert (answered["status"], answered["total"]) == ("pending", "25.50")
    # The change did commit: the next read sees all of it.
    assert _read_after(client, user, order_id) == ("paid", "41.00")


def test_an_order_listed_while_its_lines_and_status_change_agrees_with_itself(
    app, client, user, order_id
):
    page = _read_while_it_changes(app, client, user, "/orders", order_id)
    [answered] = page["items"]
    _agrees_with_itself(answered)
    assert (answered["status"], answered["total"]) == ("pending", "25.50")
    [after] = client.get("/orders", headers=user).json["items"]
    _agrees_with_itself(after)
    assert (after["status"], after["total"]) == ("paid", "41.00")


def test_an_edit_answers_the_order_as_it_stored_it_while_it_changes_again(
    app, client, user, order_id
):
    first, second = (
        line["product_id"] for line in client.get(f"/orders/{order_id}", headers=user).json["items"]
    )
    edit = {"items": [{"product_id": first, "quantity": 1}, {"product_id": second, "quantity": 1}]}
    answered = _read_while_it_changes(
        app, client, user, f"/orders/{order_id}", order_id, method="PATCH", body=edit
    )
    _agrees_with_itself(answered)
    assert (answered["status"], answered["total"]) == ("pending", "15.50")
    assert _read_after(client, user, order_id) == ("paid", "31.00")


def test_a_status_step_answers_the_order_as_it_stored_it_while_it_changes_again(
    app, client, admin, order_id
):
    answered = _read_while_it_changes(
        app,
        client,
        admin,
        f"/orders/{order_id}/status",
        order_id,
        method="POST",
        body={"status": "paid"},
        status="shipped",
    )
    _agrees_with_itself(answered)
    assert (answered["status"], answered["total"]) == ("paid", "25.50")
    assert _read_after(client, admin, order_id) == ("shipped", "41.00")


def _connection_state() -> tuple:
    """The session's connection: its backend, isolation level, read-only flag and transaction."""
    pid, isolation, read_only = db.session.execute(
        text(
            "SELECT pg_backend_pid(), current_setting('transaction_isolation'), "
            "current_setting('transaction_read_only')"
        )
    ).one()
    status = db.session.connection().connection.dbapi_connection.info.transaction_status.name
    return pid, isolation, read_only, status


@pytest.mark.parametrize("url", ["/orders/{id}", "/orders"])
def test_the_pooled_connection_of_an_order_read_serves_the_next_request_as_any_other(
    app, client, user, order_id, url
):
    used = []

    def record_the_backend(conn, cursor, statement, *args):
        used.append(conn.connection.dbapi_connection.info.backend_pid)

    with app.app_context():
        engine = db.engine
        engine.dispose()  # the pool holds the one connection the GET below opens
    event.listen(engine, "after_cursor_execute", record_the_backend)
    try:
        assert client.get(url.format(id=order_id), headers=user).status_code == 200
    finally:
        event.remove(engine, "after_cursor_execute", record_the_backend)
    [backend] = set(used)
    # The next GET reads in autocommit again, the next POST in a READ COMMITTED transaction
    # that may write.
    for method, transaction in (("GET", "IDLE"), ("POST", "INTRANS")):
        with app.test_request_context("/orders", method=method):
            assert _connection_state() == (backend, "read committed", "off", transaction)
            db.session.remove()
