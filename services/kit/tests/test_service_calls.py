"""What the kit's HTTP client sends another service: its own signed credential, addressed to that
service, and the caller's token with auth's session assertion, so the next hop asks auth nothing."""

import pytest
from flask import Flask, jsonify, request
from itsdangerous import TimestampSigner

from services.kit import service
from services.kit.security import ASSERTION_HEADER, CREDENTIAL_HEADER
from services.kit.testing import LiveServer, bearer, build_app
from services.orders import create_app as create_orders_app


@pytest.fixture(scope="module")
def echo():
    """A bare HTTP endpoint that answers with the headers it received."""
    app = Flask("echo")

    @app.get("/echo")
    def headers():
        return jsonify(dict(request.headers))

    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def orders(database, jwt_keys, echo):
    return build_app(
        create_orders_app,
        "orders",
        database,
        jwt_keys,
        SERVICE_URLS={"inventory": echo.base_url},
        HTTP_RETRIES=0,
    )


def test_a_call_carries_the_callers_credential_for_that_receiver(orders):
    with orders.test_request_context("/orders"):
        seen = service("inventory").get("/echo").json()
    signer = TimestampSigner("test-orders-service-key", salt="feira-service-credential:inventory")
    assert signer.unsign(seen[CREDENTIAL_HEADER], max_age=30) == b"orders"


def test_a_call_passes_the_token_and_its_session_assertion_on(orders):
    headers = {**bearer("the-token"), ASSERTION_HEADER: "the-assertion"}
    with orders.test_request_context("/orders", headers=headers):
        seen = service("inventory").get("/echo").json()
    assert seen["Authorization"] == "Bearer the-token"
    assert seen[ASSERTION_HEADER] == "the-assertion"


def test_without_a_token_no_assertion_is_passed(orders):
    with orders.test_request_context("/orders", headers={ASSERTION_HEADER: "stray"}):
        seen = service("inventory").get("/echo").json()
    assert "Authorization" not in seen and ASSERTION_HEADER not in seen
