"""What every request pays for besides its own work: its log line and its token's check."""

import io
import json
import threading
import time
from datetime import timedelta

import jwt
import pytest

from services.kit import Blueprint, make_db, observability, security
from services.kit.testing import access_token, bearer, kit_app, session_assertion

db = make_db("auth")
blp = Blueprint("overhead", __name__, url_prefix="/overhead")


@blp.route("/mine")
@blp.login_required()
def mine():
    return {"ok": True}


@pytest.fixture(scope="module")
def app(database, jwt_keys):
    app = kit_app(__name__, db, blp, database, jwt_keys, LOG_LEVEL="INFO")
    return app


class StuckStream(io.StringIO):
    """stderr when nobody drains it: a write waits until the test lets it through."""

    def __init__(self):
        super().__init__()
        self.released = threading.Event()

    def write(self, text):
        self.released.wait(10)
        return super().write(text)


def test_a_request_never_waits_for_a_stuck_log_stream_and_its_line_follows(app):
    stream = StuckStream()
    writer = observability._listener.handlers[0]
    previous = writer.setStream(stream)
    answers = []
    try:
        request = threading.Thread(
            target=lambda: answers.append(
                app.test_client().get("/health", headers={"X-Request-ID": "stuck-log-0001"})
            )
        )
        request.start()
        request.join(3)
        assert answers and answers[0].status_code == 200, "the request waited for stderr"
        stream.released.set()
        observability._listener.stop()  # writes what is queued
        observability._listener.start()
    finally:
        stream.released.set()
        writer.setStream(previous)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    entry = next(line for line in lines if line.get("request_id") == "stuck-log-0001")
    assert entry["path"] == "/health" and entry["status"] == 200 and entry["service"] == "auth"


def test_the_public_key_is_parsed_once_per_process(app, jwt_keys, monkeypatch):
    parsed = []

    def counting(parse):
        def parse_and_count(*args, **kwargs):
            parsed.append(1)
            return parse(*args, **kwargs)

        return parse_and_count

    # Wherever the PEM could be parsed: by PyJWT given the text, or by the kit's loader.
    monkeypatch.setattr(
        jwt.algorithms, "load_pem_public_key", counting(jwt.algorithms.load_pem_public_key)
    )
    monkeypatch.setattr(security, "load_pem_public_key", counting(security.load_pem_public_key))
    security.loaded_public_keys.cache_clear()
    client = app.test_client()
    for user_id in range(1, 6):
        token = access_token(jwt_keys, user_id=user_id)
        assert client.get("/overhead/mine", headers=bearer(token)).status_code == 200
    assert len(parsed) == 1


@pytest.fixture(scope="module")
def checked_app(database, jwt_keys):
    """Sessions checked, and no auth to ask: only a good assertion lets a request through (a
    request without one is a 503)."""
    return kit_app(
        __name__,
        db,
        blp,
        database,
        jwt_keys,
        SESSION_CHECK=True,
        SESSION_CHECK_SECONDS=5,
        SERVICE_URLS={},
    )


def test_a_session_assertion_passed_on_again_is_verified_once(checked_app, jwt_keys, monkeypatch):
    token = access_token(jwt_keys)
    assertion = session_assertion(jwt_keys, token, int(time.time()))
    verified = []
    decode = jwt.decode

    def decode_and_count(raw, *args, **kwargs):
        verified.append(raw == assertion)
        return decode(raw, *args, **kwargs)

    monkeypatch.setattr(security.pyjwt, "decode", decode_and_count)
    client = checked_app.test_client()
    headers = {**bearer(token), security.ASSERTION_HEADER: assertion}
    for _ in range(5):
        assert client.get("/overhead/mine", headers=headers).status_code == 200
    assert verified.count(True) == 1


def test_a_remembered_session_assertion_is_refused_once_it_is_stale(
    checked_app, jwt_keys, monkeypatch
):
    token = access_token(jwt_keys)
    # Issued 3-4 s ago: fresh for two more seconds (SESSION_CHECK_SECONDS and a second of travel),
    # time enough for a slow machine to make the first request.
    assertion = session_assertion(jwt_keys, token, int(time.time()) - 3)
    headers = {**bearer(token), security.ASSERTION_HEADER: assertion}
    client = checked_app.test_client()
    assert client.get("/overhead/mine", headers=headers).status_code == 200

    class Later:
        @staticmethod
        def time():
            return time.time() + 5

    monkeypatch.setattr(security, "time", Later)
    # Stale now: the service would ask auth, which it cannot reach here.
    assert client.get("/overhead/mine", headers=headers).status_code == 503


def test_a_good_token_is_verified_once_then_known_by_its_digest(app, jwt_keys, monkeypatch):
    verified = []
    verify = security.verify_jwt_in_request

    def verify_and_count():
        verified.append(1)
        return verify()

    monkeypatch.setattr(security, "verify_jwt_in_request", verify_and_count)
    client = app.test_client()
    token = access_token(jwt_keys, user_id=41)
    for _ in range(5):
        assert client.get("/overhead/mine", headers=bearer(token)).status_code == 200
    assert len(verified) == 1
    # Another token, even the same user's, is verified on its own.
    other = access_token(jwt_keys, user_id=41, role="admin")
    assert client.get("/overhead/mine", headers=bearer(other)).status_code == 200
    assert len(verified) == 2


def test_a_bad_token_is_never_remembered_and_is_refused_every_time(app, jwt_keys):
    client = app.test_client()
    token = access_token(jwt_keys, user_id=42)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(3):
        response = client.get("/overhead/mine", headers=bearer(forged))
        assert response.status_code == 401


@pytest.fixture(scope="module")
def strict_app(database, jwt_keys):
    """No leeway on expiry, so a test sees a token expire within a second."""
    return kit_app(__name__, db, blp, database, jwt_keys, JWT_DECODE_LEEWAY=0)


def test_a_remembered_token_is_refused_once_it_has_expired(strict_app, jwt_keys):
    client = strict_app.test_client()
    token = access_token(jwt_keys, user_id=43, expires_in=timedelta(seconds=2))
    assert client.get("/overhead/mine", headers=bearer(token)).status_code == 200
    time.sleep(2.2)
    response = client.get("/overhead/mine", headers=bearer(token))
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_a_body_schema_given_as_a_class_is_built_once_not_per_request(database, jwt_keys):
    from marshmallow import Schema, fields

    built = []

    class Line(Schema):
        name = fields.String(required=True)

        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    echo = Blueprint("echo", __name__, url_prefix="/echo")

    @echo.route("", methods=["POST"])
    @echo.arguments(Line)
    def post(data):
        return data

    app = kit_app(__name__, db, echo, database, jwt_keys)
    client = app.test_client()
    before = len(built)
    for name in ("a", "b", "c"):
        assert client.post("/echo", json={"name": name}).json == {"name": name}
    assert client.post("/echo", json={}).status_code == 422
    assert len(built) == before
