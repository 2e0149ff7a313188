"""Conditional writes of clients and addresses: a stale If-Match is a 412 that changes nothing,
the GET's own ETag lets the write through."""

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
