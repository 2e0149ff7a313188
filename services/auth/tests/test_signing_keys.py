"""auth after a signing key rotation: it signs with the new key, publishes every key of the
bundle, and the tokens it signed before still work."""

import jwt
import pytest

from services.auth import create_app
from services.kit.security import ASSERTION_HEADER, CREDENTIAL_HEADER, signing_key_id
from services.kit.testing import bearer, build_app, from_service, make_keys

PASSWORD = "s3nha-forte"


@pytest.fixture(scope="module")
def next_keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("next-keys"))


@pytest.fixture(scope="module")
def rotated_app(database, jwt_keys, next_keys):
    """auth on the same database, signing with the new key; the bundle holds the previous key
    first, so nothing depends on the order of its keys."""
    keys = {
        "JWT_PRIVATE_KEY": next_keys["JWT_PRIVATE_KEY"],
        "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"] + next_keys["JWT_PUBLIC_KEY"],
    }
    return build_app(create_app, "auth", database, keys, SESSION_CHECK=True)


@pytest.fixture
def rotated(rotated_app, client):
    """A client of the rotated auth, calling as the gateway does (`client` empties the tables)."""
    tester = rotated_app.test_client()
    tester.environ_base["HTTP_X_SERVICE_CREDENTIAL"] = from_service("gateway", "auth")[
        CREDENTIAL_HEADER
    ]
    return tester


def test_the_jwks_lists_every_key_of_the_bundle(rotated, jwt_keys, next_keys):
    keys = rotated.get("/auth/.well-known/jwks.json").json["keys"]
    assert [key["kid"] for key in keys] == [
        signing_key_id(jwt_keys["JWT_PRIVATE_KEY"]),
        signing_key_id(next_keys["JWT_PRIVATE_KEY"]),
    ]
    assert all(key["use"] == "sig" and key["alg"] == "RS256" for key in keys)
    assert not any({"d", "p", "q"} & set(key) for key in keys)


def test_tokens_and_session_assertions_carry_the_current_keys_kid(rotated, next_keys):
    account = {"email": "ana@example.com", "password": PASSWORD, "name": "Ana"}
    assert rotated.post("/auth/register", json=account).status_code == 201
    tokens = rotated.post("/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    current = signing_key_id(next_keys["JWT_PRIVATE_KEY"])
    for kind in ("access_token", "refresh_token"):
        assert jwt.get_unverified_header(tokens.json[kind])["kid"] == current
    verified = rotated.get("/auth/verify", headers=bearer(tokens.json["access_token"]))
    assert verified.status_code == 200
    assert jwt.get_unverified_header(verified.headers[ASSERTION_HEADER])["kid"] == current
    published = {key["kid"]: key for key in rotated.get("/auth/.well-known/jwks.json").json["keys"]}
    jwt.decode(
        tokens.json["access_token"],
        jwt.PyJWK(published[current]).key,
        algorithms=["RS256"],
        issuer="feira-auth",
    )


def test_tokens_signed_before_the_rotation_still_work_after_it(
    client, register, login, rotated, next_keys
):
    register()
    before = login()
    assert rotated.get("/auth/me", headers=bearer(before["access_token"])).status_code == 200
    refreshed = rotated.post("/auth/refresh", json={"refresh_token": before["refresh_token"]})
    assert refreshed.status_code == 200
    kid = jwt.get_unverified_header(refreshed.json["access_token"])["kid"]
    assert kid == signing_key_id(next_keys["JWT_PRIVATE_KEY"])


def test_auth_refuses_to_start_when_the_bundle_lacks_its_current_key(database, jwt_keys, next_keys):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database.url("auth"),
        "JWT_PRIVATE_KEY": next_keys["JWT_PRIVATE_KEY"],
        "JWT_PUBLIC_KEY": jwt_keys["JWT_PUBLIC_KEY"],
    }
    with pytest.raises(RuntimeError, match="does not hold the public half of JWT_PRIVATE_KEY"):
        create_app(config)
