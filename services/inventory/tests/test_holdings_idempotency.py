"""POST /inventory/clients/{id}/holdings with an Idempotency-Key: a form sent twice, or a retry
after an answer that was lost, records one holding and answers it again; the key with another
body or client is a 409; without a key each POST records one, as before."""

import pytest

from services.kit.failpoints import Crash

from . import test_holdings as served
from .test_holdings import add, holdings_of

# The fixtures of test_holdings: the real clients and products services, inventory wired to them,
# and an inventory whose products service is unreachable.
clients, products, app = served.clients, served.products, served.app
make_client, make_product = served.make_client, served.make_product
closed_url, app_without_products = served.closed_url, served.app_without_products

PROBLEM = "application/problem+json"


def keyed(headers, key):
    return {**headers, "Idempotency-Key": key}


def test_a_repeated_idempotency_key_records_one_holding_and_answers_it_again(
    app, client, admin, make_client, make_product
):
    owner, product = make_client(), make_product()
    first = add(client, keyed(admin, "form-1"), owner["id"], product["id"], 2)
    again = add(client, keyed(admin, "form-1"), owner["id"], product["id"], 2)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith(f"/inventory/holdings/{first.json['id']}")
    assert holdings_of(app, owner["id"]) == [product["id"]]


def test_an_idempotency_key_used_with_another_body_or_client_is_a_409(
    app, client, admin, make_client, make_product
):
    owner, other = make_client(), make_client()
    product = make_product()
    key = keyed(admin, "form-1")
    assert add(client, key, owner["id"], product["id"], 1).status_code == 201
    for client_id, quantity in ((owner["id"], 2), (other["id"], 1)):
        reused = add(client, key, client_id, product["id"], quantity)
        assert reused.status_code == 409 and reused.mimetype == PROBLEM
        assert reused.json["key_reused"] is True
    assert holdings_of(app, owner["id"]) == [product["id"]]
    assert holdings_of(app, other["id"]) == []


def test_a_retry_after_the_answer_was_lost_records_one_holding(
    app, client, admin, make_client, make_product
):
    """The worker dies once the holding is written, before it answers: the key's answer was
    committed with the holding, so the retry answers that holding."""
    owner, product = make_client(), make_product()
    key = keyed(admin, "lost-answer")
    app.config["FAILPOINTS"] = {"idempotency.answered"}
    try:
        with pytest.raises(Crash):
            add(client, key, owner["id"], product["id"])
    finally:
        app.config.pop("FAILPOINTS")
    retried = add(client, key, owner["id"], product["id"])
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert holdings_of(app, owner["id"]) == [product["id"]]
    assert client.get(f"/inventory/holdings/{retried.json['id']}", headers=admin).json == (
        retried.json
    )


def test_a_keyed_write_that_was_a_503_is_done_by_its_retry_and_then_answered_again(
    app, app_without_products, client, admin, make_client, make_product
):
    owner, product = make_client(), make_product()
    key = keyed(admin, "products-down")
    down = add(app_without_products.test_client(), key, owner["id"], product["id"])
    assert down.status_code == 503
    retried = add(client, key, owner["id"], product["id"])
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    again = add(client, key, owner["id"], product["id"])
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == retried.json
    assert holdings_of(app, owner["id"]) == [product["id"]]


def test_without_a_key_each_post_records_a_holding(app, client, admin, make_client, make_product):
    owner, product = make_client(), make_product()
    for _ in range(2):
        assert add(client, admin, owner["id"], product["id"]).status_code == 201
    assert holdings_of(app, owner["id"]) == [product["id"], product["id"]]


def test_the_openapi_document_describes_the_key_and_its_409(client):
    spec = client.get("/inventory/openapi.json").json
    post = spec["paths"]["/inventory/clients/{client_id}/holdings"]["post"]
    [header] = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"]["maxLength"] == 255
    assert "409" in post["responses"]
