"""Conditional writes of clients and addresses: a stale If-Match is a 412 that changes nothing,
the GET's own ETag lets the write through, once: it is checked under the row's lock."""

from collections.abc import Callable
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import func, select

from services.clients.models import Address, Client, db, outbox
from services.kit.testing import LiveServer, racing_patches, rewired, unreachable_url

STALE = 'W/"0000000000000000000000000000000000000000"'
ADDRESS = {
    "street": "Rua A",
    "number": "1",
    "city": "Rio de Janeiro",
    "state": "RJ",
    "cep": "20000-000",
}


def test_a_client_write_with_a_stale_tag_is_a_412_and_the_current_one_a_200(
    client, user, make_client
):
    url = f"/clients/{make_client(name='Ana')['id']}"
    stale = client.patch(url, json={"name": "Bia"}, headers={**user, "If-Match": STALE})
    assert stale.status_code == 412
    read = client.get(url, headers=user)
    assert read.json["name"] == "Ana"
    current = {**user, "If-Match": read.headers["ETag"]}
    assert client.patch(url, json={"name": "Bia"}, headers=current).json["name"] == "Bia"


def test_an_address_write_with_a_stale_tag_is_a_412_and_the_current_one_a_200(
    client, user, make_client
):
    owner = make_client()["id"]
    made = client.post(f"/clients/{owner}/addresses", json=ADDRESS, headers=user)
    assert made.status_code == 201, made.json
    url = f"/clients/{owner}/addresses/{made.json['id']}"
    stale = client.patch(url, json={"number": "2"}, headers={**user, "If-Match": STALE})
    assert stale.status_code == 412
    read = client.get(url, headers=user)
    assert read.json["number"] == "1"
    current = {**user, "If-Match": read.headers["ETag"]}
    assert client.patch(url, json={"number": "2"}, headers=current).json["number"] == "2"


def test_a_stale_tag_on_a_client_delete_is_a_412_and_deletes_nothing(
    app, client, admin, make_client
):
    url = f"/clients/{make_client()['id']}"
    gone = client.delete(url, headers={**admin, "If-Match": STALE})
    assert gone.status_code == 412 and gone.mimetype == "application/problem+json"
    assert client.get(url, headers=admin).status_code == 200
    assert announced(app, "client.deleted") == 0


def test_a_stale_tag_on_an_address_delete_is_a_412_and_deletes_nothing(
    app, client, user, make_client
):
    owner = make_client()["id"]
    made = client.post(f"/clients/{owner}/addresses", json=ADDRESS, headers=user)
    url = f"/clients/{owner}/addresses/{made.json['id']}"
    gone = client.delete(url, headers={**user, "If-Match": STALE})
    assert gone.status_code == 412 and gone.mimetype == "application/problem+json"
    assert client.get(url, headers=user).status_code == 200
    assert announced(app, "address.deleted") == 0


def test_two_client_patches_with_the_same_current_tag_give_one_200_and_one_412(
    app, client, user, make_client
):
    made = make_client(name="Ana")["id"]
    row = select(Client.id).where(Client.id == made)
    changes = [{"name": "Bia"}, {"name": "Cris"}]
    assert racing_patches(app, f"/clients/{made}", user, changes, row) == [200, 412]


def test_two_address_patches_with_the_same_current_tag_give_one_200_and_one_412(
    app, client, user, make_client
):
    owner = make_client()["id"]
    made = client.post(f"/clients/{owner}/addresses", json=ADDRESS, headers=user)
    url = f"/clients/{owner}/addresses/{made.json['id']}"
    row = select(Address.id).where(Address.id == made.json["id"])
    changes = [{"number": "2"}, {"number": "3"}]
    assert racing_patches(app, url, user, changes, row) == [200, 412]


def test_a_client_changed_while_its_delete_asks_orders_is_a_412_for_the_tag_read_before(
    app, client, admin, make_client
):
    """The tag is checked early (before orders is asked) and again on the row read afresh under
    the lock: a change committed while orders was asked is seen."""
    url = f"/clients/{make_client(name='Ana')['id']}"
    tag = client.get(url, headers=admin).headers["ETag"]

    def renamed():
        assert app.test_client().patch(url, json={"name": "Bia"}, headers=admin).status_code == 200

    with orders_running_first(app, renamed):
        gone = client.delete(url, headers={**admin, "If-Match": tag})
    assert gone.status_code == 412
    assert client.get(url, headers=admin).json["name"] == "Bia"
    assert announced(app, "client.deleted") == 0


def test_a_stale_tag_on_a_delete_is_a_412_before_orders_is_asked(app, client, admin, make_client):
    """Orders down would be a 503: the caller's tag is stale whatever orders says, so it is told
    to read again first."""
    owner = make_client()["id"]
    made = client.post(f"/clients/{owner}/addresses", json=ADDRESS, headers=admin)
    stale = {**admin, "If-Match": STALE}
    with rewired(app, SERVICE_URLS={"orders": unreachable_url()}):
        for url in (f"/clients/{owner}/addresses/{made.json['id']}", f"/clients/{owner}"):
            gone = client.delete(url, headers=stale)
            assert gone.status_code == 412, (url, gone.json)
            assert client.get(url, headers=admin).status_code == 200


@contextmanager
def orders_running_first(app, meanwhile: Callable[[], None]):
    """For the block, clients asks an orders stand-in, which runs `meanwhile` (a write committed
    while a deletion waits for its answer) and then answers that there are no open orders."""
    orders = Flask("orders-stand-in")

    @orders.get("/orders")
    def open_orders():
        meanwhile()
        return {"items": [], "total": 0}

    server = LiveServer(orders).start()
    try:
        with rewired(app, SERVICE_URLS={"orders": server.base_url}):
            yield
    finally:
        server.stop()


def announced(app, event_type: str) -> int:
    """How many events of `event_type` the outbox holds."""
    with app.app_context():
        kind = outbox.Event.type == event_type
        return db.session.scalar(select(func.count()).select_from(outbox.Event).where(kind))
