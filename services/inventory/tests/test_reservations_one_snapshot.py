"""A reservation is answered as one moment saw it: its status, `updated_at` and lines agree even
when a change commits between the SELECTs that read them (the row, then its lines), in a GET and
in the answer of a reserve repeated, an edit, a release or a commit, read after their own
transaction."""

import pytest

from services.kit.testing import changed_after_reading

ORDER = 301
# When the change made meanwhile says it happened: no answer reads it beside the lines before it.
MEANWHILE = "2001-01-01T00:00:00+00:00"
# An edit of the lines committed meanwhile: one more unit on each, and the row's time.
CHANGE_MEANWHILE = [
    "UPDATE inventory.reservation_items SET quantity = quantity + 1 WHERE reservation_id = "
    "(SELECT id FROM inventory.reservations WHERE order_id = :order_id)",
    "UPDATE inventory.reservations SET updated_at = :meanwhile WHERE order_id = :order_id",
]


@pytest.fixture
def product_id(client, user, make_stock):
    """A product of 10 units, 3 of them reserved for ORDER."""
    product_id = make_stock(10)
    body = {"order_id": ORDER, "items": [{"product_id": product_id, "quantity": 3}]}
    assert client.post("/inventory/reservations", json=body, headers=user).status_code == 201
    return product_id


def _answer_while_it_changes(app, client, headers, method, url, body) -> dict:
    """`method` `url`, with the change committed by another transaction right after the
    request's first plain SELECT of the reservation's row, before its lines are read. (A change
    locks the row FOR UPDATE first, and reads it plainly only for its answer.)"""
    params = {"order_id": ORDER, "meanwhile": MEANWHILE}
    with changed_after_reading(app, "inventory.reservations", CHANGE_MEANWHILE, params) as changed:
        response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code in (200, 201), response.json
    assert changed, "the change was never made"
    return response.json


@pytest.mark.parametrize(
    ("method", "path", "sends", "units", "status"),
    [
        ("GET", f"/{ORDER}", None, 3, "reserved"),
        ("POST", "", "order_id and lines", 3, "reserved"),  # answers the first reservation
        ("PUT", f"/{ORDER}", "lines", 2, "reserved"),
        ("POST", f"/{ORDER}/release", None, 3, "released"),
        ("POST", f"/{ORDER}/commit", None, 3, "committed"),
    ],
)
def test_a_reservation_answered_while_its_lines_change_agrees_with_itself(
    app, client, user, product_id, method, path, sends, units, status
):
    lines = {"items": [{"product_id": product_id, "quantity": units}]}
    body = {None: None, "lines": lines, "order_id and lines": {"order_id": ORDER, **lines}}[sends]
    url = f"/inventory/reservations{path}"
    answered = _answer_while_it_changes(app, client, user, method, url, body)
    assert answered["status"] == status
    assert answered["items"] == [{"product_id": product_id, "quantity": units}]
    assert answered["updated_at"] != MEANWHILE
    # The change did commit: the next read sees all of it.
    after = client.get(f"/inventory/reservations/{ORDER}", headers=user).json
    assert after["items"] == [{"product_id": product_id, "quantity": units + 1}]
    assert after["updated_at"] == MEANWHILE
