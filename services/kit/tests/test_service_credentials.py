"""How a receiver dates a service credential: up to 30 s old by its own clock, and a few seconds
ahead of it, since no two hosts' clocks agree to the millisecond and both round down to seconds."""

import pytest
from flask import g
from itsdangerous import TimestampSigner

from services.kit import Blueprint, make_db, security
from services.kit.testing import kit_app, service_keys

db = make_db("auth")
# The kit's test app is auth: /auth/verify is an internal route orders may call.
blp = Blueprint("verify", __name__, url_prefix="/auth")
NOW = 1_700_000_000
PROBLEM = "application/problem+json"


@blp.route("/verify")
@blp.internal()
def verify():
    return {"caller": g.service_caller}


@pytest.fixture(scope="module")
def client(database, jwt_keys):
    app = kit_app(__name__, db, blp, database, jwt_keys, SERVICE_KEYS=service_keys("auth"))
    return app.test_client()


@pytest.fixture(autouse=True)
def receivers_clock(monkeypatch):
    """The receiver reads NOW, whatever second the test runs in."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: NOW)


def dated(seconds: int, *, key="test-orders-service-key", receiver="auth") -> str:
    """orders' credential for `receiver`, signed `seconds` after the receiver's NOW by its clock."""

    class CallersClock(TimestampSigner):
        def get_timestamp(self):
            return NOW + seconds

    signer = CallersClock(key, salt=f"feira-service-credential:{receiver}")
    return signer.sign("orders").decode()


def verify_with(client, credential: str):
    return client.get("/auth/verify", headers={security.CREDENTIAL_HEADER: credential})


# +1: the caller's clock a few ms ahead, and the call straddling a second boundary.
@pytest.mark.parametrize("seconds", [0, 1, 5, -30])
def test_a_credential_dated_within_30_s_before_or_5_s_after_the_receivers_clock_is_accepted(
    client, seconds
):
    response = verify_with(client, dated(seconds))
    assert response.status_code == 200, response.json
    assert response.json == {"caller": "orders"}


@pytest.mark.parametrize("seconds", [6, 10, -31, -3600])
def test_a_credential_too_far_ahead_or_older_than_30_s_is_refused_as_out_of_time(client, seconds):
    response = verify_with(client, dated(seconds))
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.json["detail"] == security.CREDENTIAL_OUT_OF_TIME


def test_the_clock_leeway_lets_no_bad_or_misaddressed_credential_through(client):
    for credential in (dated(1, key="guessed-key"), dated(1, receiver="inventory")):
        response = verify_with(client, credential)
        assert response.status_code == 401, credential
        assert response.json["detail"] == security.CREDENTIAL_REFUSED
