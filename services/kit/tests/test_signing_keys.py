"""Verification by `kid` among the keys of the public bundle: how a signing key is rotated."""

import jwt
import pytest

from services.kit import Blueprint, make_db, security
from services.kit.testing import access_token, bearer, kit_app, make_keys, session_assertion

db = make_db("auth")
blp = Blueprint("signing_keys", __name__, url_prefix="/signing-keys")
PROBLEM = "application/problem+json"


@blp.route("/mine")
@blp.login_required()
def mine():
    return {"ok": True}


@pytest.fixture(scope="module")
def next_keys(tmp_path_factory):
    """A second pair: the key a rotation makes current."""
    return make_keys(tmp_path_factory.mktemp("next-keys"))


def _app(database, jwt_keys, bundle: str, **config):
    return kit_app(__name__, db, blp, database, {**jwt_keys, "JWT_PUBLIC_KEY": bundle}, **config)


@pytest.fixture(scope="module")
def rotating(database, jwt_keys, next_keys):
    """A service holding both public keys, as during a rotation."""
    return _app(database, jwt_keys, next_keys["JWT_PUBLIC_KEY"] + jwt_keys["JWT_PUBLIC_KEY"])


@pytest.fixture(scope="module")
def rotated(database, jwt_keys):
    """The same service once the second key is dropped from the bundle."""
    return _app(database, jwt_keys, jwt_keys["JWT_PUBLIC_KEY"])


def test_a_token_signed_by_any_key_of_the_bundle_is_accepted_until_its_key_is_dropped(
    rotating, rotated, jwt_keys, next_keys
):
    before = access_token(jwt_keys, role="admin")
    after = access_token(next_keys, role="admin")
    for token in (before, after):
        assert (
            rotating.test_client().get("/signing-keys/mine", headers=bearer(token)).status_code
            == 200
        )
    refused = rotated.test_client().get("/signing-keys/mine", headers=bearer(after))
    assert refused.status_code == 401 and refused.mimetype == PROBLEM
    assert refused.json["detail"] == "The bearer token is invalid"
    assert (
        rotated.test_client().get("/signing-keys/mine", headers=bearer(before)).status_code == 200
    )


def _without_kid(token: str, keys: dict, kid: str | None) -> str:
    """`token`'s claims signed with the right key, its header naming `kid` (None: no kid)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, keys["JWT_PRIVATE_KEY"], algorithm="RS256", headers=headers)


@pytest.mark.parametrize("kid", [None, "", "no-such-key"], ids=["absent", "empty", "unknown"])
def test_a_token_naming_no_key_of_the_bundle_is_refused_with_401(rotated, jwt_keys, kid):
    """Even signed by the one key the service holds: a verifier picks its key by the kid."""
    token = _without_kid(access_token(jwt_keys, role="admin"), jwt_keys, kid)
    response = rotated.test_client().get("/signing-keys/mine", headers=bearer(token))
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_assertion_is_checked_with_the_bundled_key_its_kid_names(
    database, jwt_keys, next_keys
):
    """Sessions checked and no auth to ask: only an assertion taken as good lets a request in
    (one refused leaves a 503)."""
    bundle = next_keys["JWT_PUBLIC_KEY"] + jwt_keys["JWT_PUBLIC_KEY"]
    app = _app(database, jwt_keys, bundle, SESSION_CHECK=True, SERVICE_URLS={})
    client = app.test_client()
    token = access_token(next_keys)
    good = session_assertion(next_keys, token)
    nameless = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}),
        next_keys["JWT_PRIVATE_KEY"],
        algorithm="RS256",
    )
    headers = bearer(token)
    assert (
        client.get(
            "/signing-keys/mine", headers={**headers, security.ASSERTION_HEADER: good}
        ).status_code
        == 200
    )
    unknown = session_assertion(next_keys, token, headers={"kid": "no-such-key"})
    for assertion in (nameless, unknown):
        answer = client.get(
            "/signing-keys/mine", headers={**headers, security.ASSERTION_HEADER: assertion}
        )
        assert answer.status_code == 503


def test_a_bundle_holding_no_public_key_stops_the_start(database, jwt_keys):
    with pytest.raises(RuntimeError, match="holds no PEM public key"):
        _app(database, jwt_keys, "not a key")
