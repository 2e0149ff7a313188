"""An order's external reference (`external_ref`, the placing system's own id for it): one order
per reference, decided by the partial unique index when orders are placed at once, a refused
order reserving nothing; the Idempotency-Key's replay before it; the list's exact filter; set
when placed and never changed."""

from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from services.kit.testing import answered_behind, at_once
from services.orders.models import IdempotencyKey, Order, db

from .conftest import order_body, relay, reservations, stock_of, stored_orders


def placed_with(client, headers, buyer, product, quantity=1, **more):
    return client.post(
        "/orders", json=order_body(buyer["id"], (product["id"], quantity), **more), headers=headers
    )


def test_an_order_keeps_its_external_ref_trimmed_and_null_when_none_is_given(
    client, user, make_client, make_product
):
    buyer, product = make_client(), make_product(stock=5)
    given = placed_with(client, user, buyer, product, external_ref="  ML-2000008123  ")
    assert given.status_code == 201, given.json
    assert given.json["external_ref"] == "ML-2000008123"
    read = client.get(f"/orders/{given.json['id']}", headers=user).json
    assert read["external_ref"] == "ML-2000008123"
    # Orders without one are as many as they like: null is no reference.
    for _ in range(2):
        none = placed_with(client, user, buyer, product)
        assert none.status_code == 201 and none.json["external_ref"] is None
    assert placed_with(client, user, buyer, product, external_ref=None).status_code == 201


def test_a_reference_another_order_has_is_a_409_naming_it_and_reserves_nothing(
    client, user, stranger, make_client, make_product, inventory
):
    buyer, first, second = make_client(), make_product(stock=5), make_product(stock=5)
    placed = placed_with(client, user, buyer, first, external_ref="ML-1")
    assert placed.status_code == 201
    # Another body, another user: the reference is the order's alone.
    again = placed_with(client, stranger, buyer, second, quantity=2, external_ref=" ML-1")
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert again.json["existing_order_id"] == placed.json["id"]
    assert again.json["external_ref"] == "ML-1"
    assert again.json["detail"] == (
        f'Order {placed.json["id"]} already has the external reference "ML-1"'
    )
    assert "short" not in again.json and "key_reused" not in again.json
    assert stored_orders(client.application) == [(placed.json["id"], "pending")]
    assert reservations(inventory) == [(placed.json["id"], "reserved")]
    assert stock_of(inventory, second["id"])["reserved"] == 0
    # Exact: another case is another reference.
    assert placed_with(client, user, buyer, second, external_ref="ml-1").status_code == 201


def test_orders_placed_at_once_with_one_reference_make_one_order(
    app, client, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=50)
    body = order_body(buyer["id"], (product["id"], 1), external_ref="ML-at-once")

    def place():
        return app.test_client().post("/orders", json=body, headers=user)

    answers = at_once(app, place, copies=6)
    # The others are told of the order once it is placed (409), or to ask again while it is
    # being placed (503): none is named an order that is not one yet.
    codes = sorted(answer.status_code for answer in answers)
    assert codes[0] == 201 and set(codes[1:]) <= {409, 503}, codes
    (order_id,) = [answer.json["id"] for answer in answers if answer.status_code == 201]
    assert {a.json["existing_order_id"] for a in answers if a.status_code == 409} <= {order_id}
    again = place()
    assert again.status_code == 409 and again.json["existing_order_id"] == order_id
    assert stored_orders(client.application) == [(order_id, "pending")]
    assert reservations(inventory) == [(order_id, "reserved")]
    assert stock_of(inventory, product["id"])["reserved"] == 1


@pytest.mark.parametrize("status, answered", [("pending", 409), ("reserving", 503)])
def test_an_order_placed_while_another_with_its_reference_is_being_stored_waits_for_it(
    app, client, user, make_client, make_product, inventory, status, answered
):
    """The index, not a look before the insert: the other order's row, not yet committed, is
    invisible to any look, and the insert waits for it. Committed as an order, it is the 409's;
    still being placed (`reserving`: it may yet be refused, short of stock), it is no order to
    name, and the answer is a 503 to ask again."""
    buyer, product = make_client(), make_product(stock=5)
    body = order_body(buyer["id"], (product["id"], 1), external_ref="ML-behind")
    with app.app_context(), db.engine.connect() as holder:
        held = holder.execute(
            insert(Order)
            .values(
                client_id=buyer["id"],
                total=0,
                created_by=10,
                external_ref="ML-behind",
                status=status,
            )
            .returning(Order.id)
        ).scalar_one()
        answer = answered_behind(
            app, holder, lambda: app.test_client().post("/orders", json=body, headers=user)
        )
    assert answer.status_code == answered, answer.json
    if answered == 409:
        assert answer.json["existing_order_id"] == held
    else:
        assert "existing_order_id" not in answer.json and answer.headers["Retry-After"]
        assert "being placed" in answer.json["detail"]
    assert reservations(inventory) == []
    assert stock_of(inventory, product["id"])["reserved"] == 0


def test_the_same_key_and_body_replays_the_first_order_and_after_the_keys_day_is_a_409(
    client, user, make_client, make_product, inventory
):
    buyer, product = make_client(), make_product(stock=5)
    headers = {**user, "Idempotency-Key": "resync-1"}
    first = placed_with(client, headers, buyer, product, external_ref="ML-7")
    again = placed_with(client, headers, buyer, product, external_ref="ML-7")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    with client.application.app_context():
        db.session.execute(
            update(IdempotencyKey).values(
                created_at=IdempotencyKey.created_at - timedelta(hours=25)
            )
        )
        db.session.commit()
    late = placed_with(client, headers, buyer, product, external_ref="ML-7")
    assert late.status_code == 409 and late.json["existing_order_id"] == first.json["id"]
    assert len(stored_orders(client.application)) == 1
    assert stock_of(inventory, product["id"])["reserved"] == 1


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "   ",
        "x" * 101,
        "ML\t1",
        "ML\n1",
        "ML\x001",
        "ML\u200b1",  # a zero-width space
        "ML\u00a01",  # a no-break space
        "ML\ue0001",  # private use
        12345,
    ],
)
def test_a_reference_that_is_not_1_to_100_printable_characters_is_a_422(
    client, user, make_client, make_product, inventory, reference
):
    buyer, product = make_client(), make_product(stock=5)
    answer = placed_with(client, user, buyer, product, external_ref=reference)
    assert answer.status_code == 422, answer.json
    assert list(answer.json["errors"]) == ["external_ref"]
    assert stored_orders(client.application) == [] and reservations(inventory) == []


def test_a_reference_of_100_printable_characters_is_taken_as_given(
    client, user, make_client, make_product
):
    buyer, product = make_client(), make_product(stock=5)
    for reference in ("x" * 100, "Pedido nº 12 · Loja São João #A/7"):
        answer = placed_with(client, user, buyer, product, external_ref=reference)
        assert answer.status_code == 201, answer.json
        assert answer.json["external_ref"] == reference


def test_the_list_finds_the_order_with_an_external_ref_exactly(
    client, user, make_client, make_product
):
    buyer, product = make_client(), make_product(stock=10)
    ids = {
        reference: placed_with(client, user, buyer, product, external_ref=reference).json["id"]
        for reference in ("ML-10", "ml-10", "ML-100")
    }
    placed_with(client, user, buyer, product)

    def found(reference):
        answer = client.get("/orders", query_string={"external_ref": reference}, headers=user)
        assert answer.status_code == 200, answer.json
        return [order["id"] for order in answer.json["items"]]

    assert found("ML-10") == [ids["ML-10"]]
    assert found("ml-10") == [ids["ml-10"]]
    assert found("ML-1") == []
    # Read as it is stored: the spaces at its ends dropped.
    assert found(" ML-10 ") == [ids["ML-10"]]
    too_long = client.get("/orders", query_string={"external_ref": "x" * 101}, headers=user)
    assert too_long.status_code == 422 and list(too_long.json["errors"]) == ["external_ref"]


def test_an_edit_cannot_change_the_external_ref_and_keeps_it(
    client, user, make_client, make_product
):
    buyer, product = make_client(), make_product(stock=5)
    order = placed_with(client, user, buyer, product, external_ref="ML-20").json
    url = f"/orders/{order['id']}"
    refused = client.patch(url, json={"external_ref": "ML-21"}, headers=user)
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["external_ref"]
    edited = client.patch(url, json={"payment_method": "cash"}, headers=user)
    assert edited.status_code == 200 and edited.json["external_ref"] == "ML-20"


def test_an_order_not_placed_keeps_no_hold_on_its_reference(
    client, user, make_client, make_product, inventory
):
    """Short of stock (the order deleted) or inventory down (the order abandoned, hidden until
    the sweeper deletes it): the retry with the same reference is placed."""
    buyer, scarce = make_client(), make_product(stock=1)
    short = placed_with(client, user, buyer, scarce, quantity=2, external_ref="ML-30")
    assert short.status_code == 409 and "short" in short.json
    inventory.stop()
    try:
        down = placed_with(client, user, buyer, scarce, external_ref="ML-30")
        assert down.status_code == 503
    finally:
        inventory.start()
    relay(client.application)
    retried = placed_with(client, user, buyer, scarce, external_ref="ML-30")
    assert retried.status_code == 201, retried.json
    assert retried.json["external_ref"] == "ML-30"
    assert stock_of(inventory, scarce["id"])["reserved"] == 1
