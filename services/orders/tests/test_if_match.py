"""Conditional writes of an order: a PATCH or DELETE with If-Match goes ahead only while the order
is as the caller read it (its GET's ETag), checked under the order's lock."""

from sqlalchemy import select

from services.kit.testing import racing_patches
from services.orders.models import Order

from .conftest import order_body

STALE = 'W/"0000000000000000000000000000000000000000"'


def placed(client, user, make_client, make_product) -> str:
    buyer, product = make_client(), make_product(stock=5)
    answer = client.post("/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user)
    assert answer.status_code == 201, answer.json
    return f"/orders/{answer.json['id']}"


def test_a_stale_if_match_on_an_order_is_a_412_and_changes_nothing(
    client, user, admin, make_client, make_product
):
    url = placed(client, user, make_client, make_product)
    edit = client.patch(url, json={"payment_method": "cash"}, headers={**user, "If-Match": STALE})
    assert edit.status_code == 412 and edit.mimetype == "application/problem+json"
    gone = client.delete(url, headers={**admin, "If-Match": STALE})
    assert gone.status_code == 412
    assert client.get(url, headers=user).json["payment_method"] is None


def test_the_orders_own_etag_lets_the_edit_through_once(client, user, make_client, make_product):
    url = placed(client, user, make_client, make_product)
    tag = client.get(url, headers=user).headers["ETag"]
    edit = client.patch(url, json={"payment_method": "cash"}, headers={**user, "If-Match": tag})
    assert edit.status_code == 200 and edit.json["payment_method"] == "cash"
    again = client.patch(url, json={"payment_method": "pix"}, headers={**user, "If-Match": tag})
    assert again.status_code == 412


def test_two_patches_with_the_same_current_tag_give_one_200_and_one_412(
    app, client, user, make_client, make_product
):
    url = placed(client, user, make_client, make_product)
    row = select(Order.id).where(Order.id == int(url.rsplit("/", 1)[1]))
    changes = [{"payment_method": "cash"}, {"payment_method": "pix"}]
    assert racing_patches(app, url, user, changes, row) == [200, 412]
