"""POST /payments/{id}/refund with an Idempotency-Key: a repeat whose first answer was lost
(on the way back, or as a 503 or a crash after the provider made the refund) is answered that
refund, never a second one, whoever finished it meanwhile; the same key with another amount is
the kit's 409."""

import pytest

from services.kit import Unavailable
from services.kit.failpoints import Crash
from services.payments import provider

from .test_failed_refunds import refunds_recorded
from .test_paying import pay
from .test_webhooks import read, run_chores


@pytest.fixture
def paid(client, user, order):
    """A card payment of 60.50 that succeeded."""
    payment = pay(client, user, order()["id"]).json
    assert payment["status"] == "succeeded" and payment["amount"] == "60.50"
    return payment


def refunds_at_the_standin(standin, payment: dict) -> list[int]:
    """The amounts (centavos) of every refund the stand-in made of the payment."""
    store = standin.app.extensions["stripe_store"]
    with store.lock:
        return [
            refund["amount"]
            for refund in store.refunds.values()
            if refund["payment_intent"] == payment["provider_ref"]
        ]


def refund(client, headers, payment, amount: str, key: str = "refund-1"):
    return client.post(
        f"/payments/{payment['id']}/refund",
        json={"amount": amount},
        headers={**headers, "Idempotency-Key": key},
    )


def test_a_keyed_partial_refund_asked_again_answers_the_first_answer_and_refunds_once(
    client, admin, paid, standin
):
    first = refund(client, admin, paid, "10.00")
    assert first.status_code == 200, first.json

    again = refund(client, admin, paid, "10.00")

    assert again.status_code == 200 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Location" not in again.headers
    assert read(client, paid["id"], admin)["refunded_amount"] == "10.00"
    assert refunds_at_the_standin(standin, paid) == [1000]


@pytest.fixture
def answer_lost(client, monkeypatch):
    """How a keyed refund's answer is lost after the provider made it: `unavailable` (a 503: the
    connection dropped on the way back) or `crash` (the worker died before recording it)."""

    def lose(how, headers, payment, amount):
        if how == "unavailable":
            made = provider.refund

            def made_then_lost(*args, **kwargs):
                made(*args, **kwargs)
                raise Unavailable("The payment provider cannot be reached")

            monkeypatch.setattr(provider, "refund", made_then_lost)
            try:
                assert refund(client, headers, payment, amount).status_code == 503
            finally:
                monkeypatch.setattr(provider, "refund", made)
            return
        client.application.config["FAILPOINTS"] = {"payments.refund_answered"}
        try:
            with pytest.raises(Crash):
                refund(client, headers, payment, amount)
        finally:
            client.application.config.pop("FAILPOINTS")

    return lose


@pytest.mark.parametrize("how", ["unavailable", "crash"])
@pytest.mark.parametrize("meanwhile", ["nothing", "reconciliation"])
def test_a_keyed_refund_whose_answer_was_lost_is_made_once_when_asked_again(
    client, admin, paid, standin, app, answer_lost, how, meanwhile
):
    answer_lost(how, admin, paid, "10.00")
    assert refunds_recorded(app, paid["id"])[1] == ["open"]
    if meanwhile == "reconciliation":
        # It finishes the ask first: the retry then finds no refund left open.
        assert run_chores(app) >= 1
        assert refunds_recorded(app, paid["id"])[1] == ["made"]

    retried = refund(client, admin, paid, "10.00")
    again = refund(client, admin, paid, "10.00")

    assert retried.status_code == again.status_code == 200, retried.json
    assert (retried.json["status"], retried.json["refunded_amount"]) == (
        "partially_refunded",
        "10.00",
    )
    assert again.json == retried.json
    assert read(client, paid["id"], admin)["refunded_amount"] == "10.00"
    assert refunds_at_the_standin(standin, paid) == [1000]
    assert refunds_recorded(app, paid["id"])[1] == ["made"]


@pytest.mark.parametrize("amount", ["10.00", None], ids=["same-amount", "all-that-is-left"])
def test_a_keyed_refund_answered_by_an_earlier_requests_lost_refund_answers_it_again(
    client, admin, paid, standin, monkeypatch, amount
):
    # A refund without a key, made and its answer lost (a 503).
    made = provider.refund

    def made_then_lost(*args, **kwargs):
        made(*args, **kwargs)
        raise Unavailable("The payment provider cannot be reached")

    monkeypatch.setattr(provider, "refund", made_then_lost)
    body = {} if amount is None else {"amount": amount}
    url = f"/payments/{paid['id']}/refund"
    assert client.post(url, json=body, headers=admin).status_code == 503
    monkeypatch.setattr(provider, "refund", made)

    # A keyed one for the same refund is answered by that one; asked again, by that answer.
    keyed = {**admin, "Idempotency-Key": "after-the-lost-one"}
    first = client.post(url, json=body, headers=keyed)
    again = client.post(url, json=body, headers=keyed)

    assert first.status_code == again.status_code == 200, (first.json, again.json)
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    refunded = "60.50" if amount is None else amount
    assert read(client, paid["id"], admin)["refunded_amount"] == refunded
    assert refunds_at_the_standin(standin, paid) == [int(refunded.replace(".", ""))]


def test_a_refund_key_used_again_with_another_amount_is_a_409_and_refunds_nothing_more(
    client, admin, paid, standin
):
    assert refund(client, admin, paid, "10.00").status_code == 200

    other = refund(client, admin, paid, "5.00")

    assert other.status_code == 409
    assert other.headers["Content-Type"] == "application/problem+json"
    assert other.json["key_reused"] is True
    assert read(client, paid["id"], admin)["refunded_amount"] == "10.00"
    assert refunds_at_the_standin(standin, paid) == [1000]


def test_a_refused_refund_lets_its_key_go(client, admin, paid, standin):
    too_much = refund(client, admin, paid, "70.00", key="too-much")
    assert too_much.status_code == 422

    # Refused (more than is left): the same key is a new request, with any body.
    right = refund(client, admin, paid, "60.50", key="too-much")

    assert right.status_code == 200, right.json
    assert right.json["status"] == "refunded"
    assert refunds_at_the_standin(standin, paid) == [6050]


def test_without_a_key_a_refund_asked_again_is_another_refund(client, admin, paid, standin):
    url = f"/payments/{paid['id']}/refund"
    for _ in range(2):
        assert client.post(url, json={"amount": "10.00"}, headers=admin).status_code == 200

    assert read(client, paid["id"], admin)["refunded_amount"] == "20.00"
    assert refunds_at_the_standin(standin, paid) == [1000, 1000]


def test_the_openapi_document_describes_the_refunds_key_and_its_409(client):
    spec = client.get("/payments/openapi.json").json
    post = spec["paths"]["/payments/{payment_id}/refund"]["post"]
    [header] = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"]["maxLength"] == 255
    assert "another body or payment" in header["description"]
    assert "another body or payment" in post["responses"]["409"]["description"]
