"""Orders' read model of clients, addresses and products: fed by the real clients' and products'
relays, it lets an order be placed with one call (the reservation); a change, a deactivation or a
deletion holds from the moment its event is delivered, and an id it lacks is read once."""

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import event, select, text, update

from services.kit.testing import deliver
from services.orders.models import KnownAddress, KnownClient, KnownProduct, db

from .conftest import order_body, relay, stock_of, stored_orders
from .test_payment_events import emitted, pay


@pytest.fixture
def asked(monkeypatch, clients, products):
    """The requests clients and products receive, as (service, method, path)."""
    seen = []

    def counted(name, wsgi_app):
        def middleware(environ, start_response):
            seen.append((name, environ["REQUEST_METHOD"], environ["PATH_INFO"]))
            return wsgi_app(environ, start_response)

        return middleware

    monkeypatch.setattr(clients.app, "wsgi_app", counted("clients", clients.app.wsgi_app))
    monkeypatch.setattr(products.app, "wsgi_app", counted("products", products.app.wsgi_app))
    return seen


def place(client, headers, buyer, *lines, **more):
    return client.post("/orders", json=order_body(buyer["id"], *lines, **more), headers=headers)


def product_admin(products, admin, product_id, method, **body):
    response = getattr(products.app.test_client(), method)(
        f"/products/{product_id}", headers=admin, **({"json": body} if body else {})
    )
    assert response.status_code in (200, 204), response.json
    return response


# --- one synchronous call ---


def test_an_order_of_what_orders_has_heard_of_asks_neither_clients_nor_products(
    client, user, make_client, make_product, heard, asked
):
    buyer = make_client(address=True)
    product = make_product(stock=5, price="12.34")
    assert heard() >= 3, "client.created, address.created and product.created"
    asked.clear()
    response = place(
        client, user, buyer, (product["id"], 2), shipping_address_id=buyer["address_id"]
    )
    assert response.status_code == 201, response.json
    assert response.json["total"] == "24.68"
    assert asked == []


def test_an_id_orders_has_not_heard_of_is_read_once_and_then_known(
    client, user, make_client, make_product, asked
):
    buyer = make_client(address=True)
    product = make_product(stock=5)
    asked.clear()
    first = place(client, user, buyer, (product["id"], 1), shipping_address_id=buyer["address_id"])
    assert first.status_code == 201, first.json
    assert sorted(asked) == [
        ("clients", "GET", f"/clients/{buyer['id']}/addresses/{buyer['address_id']}"),
        ("products", "GET", "/products"),
    ]
    asked.clear()
    again = place(client, user, buyer, (product["id"], 1), shipping_address_id=buyer["address_id"])
    assert again.status_code == 201, again.json
    assert asked == []


def test_a_refused_order_still_remembers_what_it_read(
    client, user, make_client, make_product, asked
):
    buyer = make_client()
    product = make_product(stock=5)
    refused = place(client, user, buyer, (product["id"], 1), (424242, 1))
    assert refused.status_code == 422
    assert refused.json["errors"] == {"items": ["Product 424242 does not exist."]}
    asked.clear()
    assert place(client, user, buyer, (product["id"], 1)).status_code == 201
    assert asked == []


# --- a change holds once its event is delivered ---


def test_once_product_updated_is_delivered_the_new_price_is_used(
    client, user, admin, make_client, make_product, products, heard
):
    buyer = make_client()
    product = make_product(stock=10, price="10.00")
    heard()
    assert place(client, user, buyer, (product["id"], 1)).json["total"] == "10.00"
    product_admin(products, admin, product["id"], "patch", price="25.50")
    assert heard() == 1
    placed = place(client, user, buyer, (product["id"], 2))
    assert placed.status_code == 201, placed.json
    assert placed.json["items"][0]["unit_price"] == "25.50" and placed.json["total"] == "51.00"


def edit_lines(client, headers, order_id, *lines):
    items = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]
    response = client.patch(f"/orders/{order_id}", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.json
    return {item["product_id"]: item for item in response.json["items"]}, response.json["total"]


@pytest.mark.parametrize(("now", "total"), [("100.00", "300.00"), ("4.00", "12.00")])
def test_a_line_an_edit_grows_is_priced_at_the_products_price_now(
    client, user, admin, make_client, make_product, products, heard, now, total
):
    """Ordered at R$ 10, the price then raised (or lowered): the units an edit adds, and so the
    whole line, sell at the price the catalogue asks now, as a new line would."""
    buyer = make_client()
    product = make_product(stock=10, price="10.00")
    heard()
    order = place(client, user, buyer, (product["id"], 1)).json
    product_admin(products, admin, product["id"], "patch", price=now)
    assert heard() == 1
    lines, edited_total = edit_lines(client, user, order["id"], (product["id"], 3))
    assert lines[product["id"]]["unit_price"] == now
    assert lines[product["id"]]["line_total"] == edited_total == total


def test_a_line_an_edit_keeps_or_shrinks_keeps_the_price_it_was_ordered_at(
    client, user, admin, make_client, make_product, products, heard
):
    buyer = make_client()
    kept, shrunk, added = (make_product(stock=10, price="10.00") for _ in range(3))
    heard()
    order = place(client, user, buyer, (kept["id"], 2), (shrunk["id"], 2)).json
    for product in (kept, shrunk, added):
        product_admin(products, admin, product["id"], "patch", price="100.00")
    assert heard() == 3
    lines, total = edit_lines(
        client, user, order["id"], (kept["id"], 2), (shrunk["id"], 1), (added["id"], 1)
    )
    assert {product_id: line["unit_price"] for product_id, line in lines.items()} == {
        kept["id"]: "10.00",
        shrunk["id"]: "10.00",
        added["id"]: "100.00",
    }
    assert total == "130.00"


def test_once_a_deactivation_is_delivered_the_product_is_refused(
    client, user, admin, make_client, make_product, products, heard
):
    buyer = make_client()
    product = make_product(stock=10)
    heard()
    assert place(client, user, buyer, (product["id"], 1)).status_code == 201
    product_admin(products, admin, product["id"], "patch", active=False)
    heard()
    refused = place(client, user, buyer, (product["id"], 1))
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.json["errors"] == {"items": [f"Product {product['id']} is not active."]}


def test_an_edit_keeps_a_line_of_a_deactivated_product_at_no_more_units_but_refuses_more(
    client, user, admin, make_client, make_product, products, heard
):
    """Deactivated after it was ordered, a product's line stays through an edit of the other
    lines (kept or lessened), at the price it was ordered at; adding units to it is refused."""
    buyer = make_client()
    retired, other = make_product(stock=10, price="10.00"), make_product(stock=10, price="5.00")
    heard()
    order = place(client, user, buyer, (retired["id"], 3), (other["id"], 1)).json
    product_admin(products, admin, retired["id"], "patch", active=False)
    assert heard() == 1
    lines, total = edit_lines(client, user, order["id"], (retired["id"], 3), (other["id"], 2))
    assert {pid: line["quantity"] for pid, line in lines.items()} == {
        retired["id"]: 3,
        other["id"]: 2,
    }
    assert lines[retired["id"]]["unit_price"] == "10.00" and total == "40.00"
    lines, total = edit_lines(client, user, order["id"], (retired["id"], 1))
    assert list(lines) == [retired["id"]] and total == "10.00"
    grown = client.patch(
        f"/orders/{order['id']}",
        json={"items": [{"product_id": retired["id"], "quantity": 2}]},
        headers=user,
    )
    assert grown.status_code == 422 and grown.mimetype == "application/problem+json"
    assert grown.json["errors"] == {"items": [f"Product {retired['id']} is not active."]}
    assert client.get(f"/orders/{order['id']}", headers=user).json["total"] == "10.00"


def test_once_product_deleted_is_delivered_the_product_is_refused(
    client, user, admin, make_client, make_product, products, heard
):
    buyer = make_client()
    product = make_product(stock=0)
    heard()
    product_admin(products, admin, product["id"], "delete")
    heard()
    refused = place(client, user, buyer, (product["id"], 1))
    assert refused.status_code == 422
    assert refused.json["errors"] == {"items": [f"Product {product['id']} does not exist."]}


def test_once_client_deleted_is_delivered_the_client_is_refused(
    client, user, admin, make_client, make_product, clients, heard
):
    buyer = make_client()
    product = make_product(stock=5)
    heard()
    deleted = clients.app.test_client().delete(f"/clients/{buyer['id']}", headers=admin)
    assert deleted.status_code == 204
    heard()
    refused = place(client, user, buyer, (product["id"], 1))
    assert refused.status_code == 422
    assert refused.json["errors"] == {"client_id": [f"Client {buyer['id']} does not exist."]}


@pytest.mark.parametrize("paid", [False, True], ids=["pending", "paid"])
def test_open_orders_placed_before_client_deleted_arrived_are_cancelled_with_their_stock(
    client, user, admin, make_client, make_product, clients, heard, inventory, paid
):
    """Clients asks orders for open orders before it deletes; orders takes the client's orders
    until `client.deleted` arrives (here clients asks nobody: no ORDERS_URL). One placed, or
    placed and paid by card, in that window would outlive its client: it is cancelled, and a
    paid one's `order.cancelled` (previous_status "paid") makes payments refund it."""
    buyer = make_client()
    product = make_product(stock=5)
    heard()
    placed = place(client, user, buyer, (product["id"], 2))
    assert placed.status_code == 201
    if paid:
        paying = pay(client, placed.json, amount=placed.json["total"])
        assert paying.json["status"] == "processed"
    deleted = clients.app.test_client().delete(f"/clients/{buyer['id']}", headers=admin)
    assert deleted.status_code == 204
    heard()
    order = client.get(f"/orders/{placed.json['id']}", headers=admin).json
    assert order["status"] == "cancelled"
    assert order["history"][-1] == {
        **order["history"][-1],
        "status": "cancelled",
        "by": "clients",
        "note": "client deleted",
    }
    [cancelled] = emitted(client.application, "order.cancelled")
    assert cancelled["order_id"] == order["id"]
    assert cancelled["previous_status"] == ("paid" if paid else "pending")
    assert relay(client.application) >= 1
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 0, "available": 5}


def test_a_shipped_order_of_a_deleted_client_is_left_to_be_delivered_and_logged(
    client, user, admin, make_client, make_product, clients, heard, inventory, caplog
):
    """On its way, its stock gone as a sale: no step cancels it, and a refund would pay back
    goods the client receives."""
    buyer = make_client()
    product = make_product(stock=5)
    heard()
    placed = place(client, user, buyer, (product["id"], 2))
    for status in ("paid", "shipped"):
        moved = client.post(
            f"/orders/{placed.json['id']}/status", json={"status": status}, headers=admin
        )
        assert moved.status_code == 200, moved.json
    deleted = clients.app.test_client().delete(f"/clients/{buyer['id']}", headers=admin)
    assert deleted.status_code == 204
    heard()
    assert client.get(f"/orders/{placed.json['id']}", headers=admin).json["status"] == "shipped"
    assert emitted(client.application, "order.cancelled") == []
    assert (
        f"client {buyer['id']} was deleted with orders already shipped, left to be delivered: "
        f"{placed.json['id']}" in caplog.text
    )


def test_an_order_whose_client_is_deleted_while_its_stock_is_reserved_is_refused_with_none_held(
    client, user, make_client, make_product, heard, inventory, monkeypatch
):
    from services.orders import orders

    buyer = make_client()
    product = make_product(stock=5)
    heard()
    reserve = orders.inventory.reserve

    def reserve_while_the_client_goes(order_id, lines):
        state = reserve(order_id, lines)
        gone = deliver(client.application, "client.deleted", {"client_id": buyer["id"]})
        assert gone.json["status"] == "processed"
        return state

    monkeypatch.setattr(orders.inventory, "reserve", reserve_while_the_client_goes)
    refused = place(client, user, buyer, (product["id"], 2))
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == {"client_id": [f"Client {buyer['id']} does not exist."]}
    assert [status for _, status in stored_orders(client.application)] == ["abandoned"]
    assert relay(client.application) >= 1
    assert stock_of(inventory, product["id"]) == {"on_hand": 5, "reserved": 0, "available": 5}


def test_once_address_deleted_is_delivered_the_address_is_refused(
    client, user, make_client, make_product, clients, heard
):
    buyer = make_client(address=True)
    product = make_product(stock=5)
    heard()
    where = f"/clients/{buyer['id']}/addresses/{buyer['address_id']}"
    assert clients.app.test_client().delete(where, headers=user).status_code == 204
    heard()
    refused = place(
        client, user, buyer, (product["id"], 1), shipping_address_id=buyer["address_id"]
    )
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["shipping_address_id"]


@pytest.mark.parametrize("statuses", [(), ("paid", "shipped")], ids=["pending", "shipped"])
def test_open_orders_shipping_to_an_address_deleted_meanwhile_are_kept_and_logged_by_id(
    client, user, admin, make_client, make_product, clients, heard, caplog, statuses
):
    """Clients asks orders before it deletes an address (here it asks nobody: no ORDERS_URL); an
    order placed to it in between has nowhere to ship. It is not cancelled (its client is still
    there to be asked, a shipped one is on its way): an admin is told, by ids alone."""
    buyer = make_client(address=True)
    product = make_product(stock=5)
    heard()
    placed = place(client, user, buyer, (product["id"], 1), shipping_address_id=buyer["address_id"])
    assert placed.status_code == 201, placed.json
    for status in statuses:
        moved = client.post(
            f"/orders/{placed.json['id']}/status", json={"status": status}, headers=admin
        )
        assert moved.status_code == 200, moved.json
    assert place(client, user, buyer, (product["id"], 1)).status_code == 201  # to no address
    where = f"/clients/{buyer['id']}/addresses/{buyer['address_id']}"
    assert clients.app.test_client().delete(where, headers=user).status_code == 204
    heard()
    order = client.get(f"/orders/{placed.json['id']}", headers=admin).json
    assert order["status"] == (statuses or ("pending",))[-1]
    assert emitted(client.application, "order.cancelled") == []
    [logged] = [record for record in caplog.records if record.levelname == "ERROR"]
    assert logged.getMessage() == (
        f"address {buyer['address_id']} of client {buyer['id']} was deleted while open orders "
        f"ship to it: {placed.json['id']}"
    )


def placed_meanwhile(client, user, buyer, product, answers: list) -> threading.Thread:
    """An order of one unit to the buyer's address, placed on a thread of its own (started):
    its answer lands in `answers`."""
    placing = threading.Thread(
        target=lambda: answers.append(
            place(client, user, buyer, (product["id"], 1), shipping_address_id=buyer["address_id"])
        )
    )
    placing.start()
    return placing


def stranded_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]


def test_an_order_whose_address_is_deleted_while_its_stock_is_reserved_is_kept_and_logged(
    client, user, make_client, make_product, heard, caplog, monkeypatch
):
    """`address.deleted` taken while the order is still `reserving` finds no open order: the
    order, becoming pending after it, reads its address deleted and is logged itself."""
    from services.orders import orders

    buyer = make_client(address=True)
    product = make_product(stock=5)
    heard()
    reserve = orders.inventory.reserve

    def reserve_while_the_address_goes(order_id, lines):
        state = reserve(order_id, lines)
        event = {"address_id": buyer["address_id"], "client_id": buyer["id"]}
        gone = deliver(client.application, "address.deleted", event)
        assert gone.json["status"] == "processed"
        return state

    monkeypatch.setattr(orders.inventory, "reserve", reserve_while_the_address_goes)
    placed = place(client, user, buyer, (product["id"], 1), shipping_address_id=buyer["address_id"])
    assert placed.status_code == 201, placed.json
    assert placed.json["status"] == "pending"
    assert stranded_logged(caplog) == [
        f"address {buyer['address_id']} of client {buyer['id']} was deleted while open orders "
        f"ship to it: {placed.json['id']}"
    ]


def test_an_order_becoming_pending_waits_for_its_addresses_deletion_and_is_logged(
    app, client, user, make_client, make_product, heard, caplog
):
    """The deletion's transaction has buried the address and looked for open orders (none yet)
    but not committed: the order waits for it as it becomes pending, then reads the address
    deleted. Without the lock both would miss the other, and nobody would be told."""
    buyer = make_client(address=True)
    product = make_product(stock=5)
    heard()
    answers = []
    with app.app_context():
        db.session.execute(
            update(KnownAddress).where(KnownAddress.id == buyer["address_id"]).values(deleted=True)
        )
        placing = placed_meanwhile(client, user, buyer, product, answers)
        placing.join(2)
        assert placing.is_alive(), answers and answers[0].json
        db.session.commit()
        db.session.remove()
    placing.join(10)
    assert answers[0].status_code == 201, answers[0].json
    assert stranded_logged(caplog) == [
        f"address {buyer['address_id']} of client {buyer['id']} was deleted while open orders "
        f"ship to it: {answers[0].json['id']}"
    ]


def edit_address_meanwhile(client, user, order_id, address_id, answers: list) -> threading.Thread:
    """A PATCH of the order's address on a thread of its own (started): its answer in `answers`."""
    editing = threading.Thread(
        target=lambda: answers.append(
            client.patch(
                f"/orders/{order_id}", json={"shipping_address_id": address_id}, headers=user
            )
        )
    )
    editing.start()
    return editing


def test_an_order_given_an_address_whose_deletion_is_being_taken_waits_and_is_refused(
    app, client, user, make_client, make_product, clients, heard
):
    """The deletion's transaction has buried the address and looked for open orders to it (none
    yet) but not committed: the edit waits for it, then reads the address deleted. Without the
    lock the edit would commit an order to a deleted address that nobody is told of."""
    buyer = make_client(address=True)
    product = make_product(stock=5)
    heard()
    placed = place(client, user, buyer, (product["id"], 1))
    assert placed.status_code == 201, placed.json
    answers = []
    with app.app_context():
        db.session.execute(
            update(KnownAddress).where(KnownAddress.id == buyer["address_id"]).values(deleted=True)
        )
        editing = edit_address_meanwhile(
            client, user, placed.json["id"], buyer["address_id"], answers
        )
        editing.join(2)
        assert editing.is_alive(), answers and answers[0].json
        db.session.commit()
        db.session.remove()
    editing.join(10)
    assert answers[0].status_code == 422, answers[0].json
    assert "shipping_address_id" in answers[0].json["errors"]
    assert (
        client.get(f"/orders/{placed.json['id']}", headers=user).json["shipping_address_id"] is None
    )


def test_an_address_deleted_while_an_order_is_given_it_waits_and_logs_that_order(
    client, user, make_client, make_product, heard, caplog, monkeypatch
):
    """`address.deleted` taken while an edit giving an order that address has checked it but not
    committed: the event waits for the edit, then finds the order open to it and logs it."""
    from services.orders import known

    buyer = make_client(address=True)
    product = make_product(stock=5)
    heard()
    placed = place(client, user, buyer, (product["id"], 1))
    assert placed.status_code == 201, placed.json
    checked = known.client_problems
    deleting = []

    def checked_while_the_address_goes(client_id, address_id):
        problems = checked(client_id, address_id)
        event = {"address_id": address_id, "client_id": client_id}
        thread = threading.Thread(
            target=lambda: deleting.append(deliver(client.application, "address.deleted", event))
        )
        thread.start()
        thread.join(2)
        assert thread.is_alive(), "address.deleted did not wait for the edit"
        deleting.append(thread)
        return problems

    monkeypatch.setattr(known, "client_problems", checked_while_the_address_goes)
    edited = client.patch(
        f"/orders/{placed.json['id']}",
        json={"shipping_address_id": buyer["address_id"]},
        headers=user,
    )
    assert edited.status_code == 200, edited.json
    deleting[0].join(10)
    assert deleting[1].json["status"] == "processed"
    assert stranded_logged(caplog) == [
        f"address {buyer['address_id']} of client {buyer['id']} was deleted while open orders "
        f"ship to it: {placed.json['id']}"
    ]


def waiting_on(app, holder_pid: int, timeout: float = 10) -> None:
    """Returns once a backend waits for a lock the session `holder_pid` holds (else fails)."""
    blocked = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + timeout
    with db.engine.connect() as watcher:
        while time.monotonic() < deadline:
            if watcher.execute(blocked, {"pid": holder_pid}).scalar_one():
                return
            watcher.rollback()
            time.sleep(0.01)
    pytest.fail("nothing waited for the test's lock")


def test_an_order_aborted_to_break_a_deadlock_with_a_batch_of_events_is_placed_all_the_same(
    app, client, user, make_client, make_product, heard, caplog
):
    """A relay batch locks the address first, then the client; an order becoming pending locks
    the client, then the address. PostgreSQL breaks the cycle by aborting one: here the order
    (it waited first, so its deadlock check runs first), which is made pending again, not a
    503 with its order left `reserving`."""
    buyer = make_client(address=True)
    product = make_product(stock=5)
    heard()
    answers = []
    with app.app_context():
        db.session.execute(
            update(KnownAddress).where(KnownAddress.id == buyer["address_id"]).values(state="RJ")
        )
        placing = placed_meanwhile(client, user, buyer, product, answers)
        waiting_on(app, db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        assert placing.is_alive(), answers and answers[0].json
        # A head start: each side checks for a deadlock a deadlock_timeout (1 s) after it began
        # to wait, and the one that checks first is aborted; on a loaded machine the order's
        # check must not come late.
        time.sleep(0.5)
        # The batch's second event: the client, which the order holds FOR SHARE.
        db.session.execute(
            update(KnownClient).where(KnownClient.id == buyer["id"]).values(deleted=False)
        )
        db.session.commit()
        db.session.remove()
    placing.join(10)
    assert answers[0].status_code == 201, answers[0].json
    assert answers[0].json["status"] == "pending"
    assert "an order becoming pending: the transaction was aborted (40P01)" in caplog.text


def test_an_address_of_another_client_is_refused(client, user, make_client, make_product, heard):
    owner, other = make_client(address=True), make_client()
    product = make_product(stock=5)
    heard()
    refused = place(
        client, user, other, (product["id"], 1), shipping_address_id=owner["address_id"]
    )
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["shipping_address_id"]


def test_an_address_change_reaches_the_read_model(app, client, user, make_client, clients, heard):
    buyer = make_client(address=True)
    where = f"/clients/{buyer['id']}/addresses/{buyer['address_id']}"
    clients.app.test_client().patch(where, json={"state": "BA"}, headers=user)
    heard()
    with app.app_context():
        assert db.session.get(KnownAddress, buyer["address_id"]).state == "BA"
        db.session.remove()


# --- late, repeated and unreadable events ---


def product_event(product_id, price, at, **more):
    return {
        "product_id": product_id,
        "name": "Produto",
        "price": price,
        "category_id": None,
        "active": True,
        "updated_at": f"2026-12-03T10:00:{at:02d}+00:00",
        **more,
    }


def known_product(app, product_id):
    with app.app_context():
        row = db.session.get(KnownProduct, product_id)
        db.session.remove()
        return row


def test_an_older_product_event_arriving_late_changes_nothing(app, client):
    assert deliver(app, "product.updated", product_event(7, "20.00", at=30)).status_code == 200
    late = deliver(app, "product.created", product_event(7, "10.00", at=10))
    assert late.json == {"status": "processed"}
    same_age = deliver(app, "product.updated", product_event(7, "15.00", at=30))
    assert same_age.json == {"status": "processed"}
    assert known_product(app, 7).price == Decimal("20.00")
    deliver(app, "product.updated", product_event(7, "30.00", at=40))
    assert known_product(app, 7).price == Decimal("30.00")


def test_no_event_after_product_deleted_brings_the_product_back(app, client):
    deliver(app, "product.deleted", {"product_id": 8})
    deliver(app, "product.updated", product_event(8, "20.00", at=50))
    known = known_product(app, 8)
    assert known.deleted and known.price is None


@pytest.mark.parametrize(
    "data",
    [
        product_event(9, "abc", at=1),
        product_event(9, "NaN", at=1),
        product_event(9, "1.00", at=1, updated_at="yesterday"),
        {"product_id": 9},
    ],
)
def test_a_product_event_orders_cannot_read_is_rejected_once_and_stores_nothing(app, client, data):
    assert deliver(app, "product.updated", data).json == {"status": "rejected"}
    assert known_product(app, 9) is None


# --- fewer round trips ---


def test_placing_an_order_reads_no_order_back_and_takes_no_key_lock_without_a_key(
    app, client, user, make_client, make_product, heard
):
    buyer = make_client()
    product = make_product(stock=5)
    heard()
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = place(client, user, buyer, (product["id"], 1))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 201, response.json
    reads = [s for s in statements if s.startswith("SELECT") and "orders.order" in s]
    assert reads == []
    assert not [s for s in statements if "advisory" in s]


def test_the_answer_to_a_placed_order_is_the_order_as_stored(
    client, user, make_client, make_product, heard
):
    buyer = make_client(address=True)
    product = make_product(stock=5, price="3.33")
    heard()
    placed = place(client, user, buyer, (product["id"], 3), shipping_address_id=buyer["address_id"])
    assert placed.status_code == 201, placed.json
    assert client.get(f"/orders/{placed.json['id']}", headers=user).json == placed.json


def test_placing_with_a_key_answers_the_stored_order_and_replays_it(
    client, user, make_client, make_product, heard
):
    buyer = make_client()
    product = make_product(stock=5)
    heard()
    key = {**user, "Idempotency-Key": "read-model-1"}
    first = place(client, key, buyer, (product["id"], 1))
    again = place(client, key, buyer, (product["id"], 1))
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert client.get(f"/orders/{first.json['id']}", headers=user).json == first.json


def test_the_read_model_keeps_nothing_for_an_id_nobody_knows(app, client, user, make_client):
    buyer = make_client()
    assert place(client, user, buyer, (424242, 1)).status_code == 422
    with app.app_context():
        assert db.session.scalars(select(KnownProduct.id)).all() == []
        db.session.remove()
