"""Passwords are hashed with argon2id at no less than OWASP's minimum cost (19 MiB, 2
iterations), and a hash made with weaker parameters is made again at the next sign-in."""

import argon2
import pytest
from sqlalchemy import select, update

from services.auth import create_app, passwords
from services.auth.models import User, db
from services.kit.testing import build_app


def _stored(app) -> str:
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash))
        db.session.remove()
    return stored


def test_the_password_hash_costs_at_least_owasps_minimum(app, register):
    register()
    params = argon2.extract_parameters(_stored(app))
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2


def test_a_hash_with_weaker_parameters_is_made_again_at_sign_in(app, client, register):
    register()
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("s3nha-forte")
    with app.app_context():
        db.session.execute(update(User).values(password_hash=weak))
        db.session.commit()
        db.session.remove()
    signed = client.post(
        "/auth/login", json={"email": "ana@example.com", "password": "s3nha-forte"}
    )
    assert signed.status_code == 200
    params = argon2.extract_parameters(_stored(app))
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2


def test_an_unknown_email_is_checked_against_the_apps_own_hash_taking_as_long(
    app, client, monkeypatch
):
    checked = []
    verify = argon2.PasswordHasher.verify

    def counted(self, hash, password):
        checked.append(hash)
        return verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    signed = client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "s3nha-forte"}
    )
    assert signed.status_code == 401
    assert checked == [app.extensions["feira.passwords"][1]]


def _auth(database, jwt_keys, memory_kib: int, time_cost: int, lanes: int):
    return build_app(
        create_app,
        "auth",
        database,
        jwt_keys,
        ARGON2_MEMORY_KIB=memory_kib,
        ARGON2_TIME_COST=time_cost,
        ARGON2_PARALLELISM=lanes,
    )


def test_without_settings_passwords_are_hashed_with_rfc_9106s_low_memory_profile(monkeypatch):
    for name in ("ARGON2_MEMORY_KIB", "ARGON2_TIME_COST", "ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    profile = argon2.profiles.RFC_9106_LOW_MEMORY
    assert passwords.settings() == {
        "ARGON2_MEMORY_KIB": profile.memory_cost,
        "ARGON2_TIME_COST": profile.time_cost,
        "ARGON2_PARALLELISM": profile.parallelism,
    }


@pytest.mark.parametrize(
    ("memory_kib", "time_cost", "lanes"),
    [(19455, 2, 1), (19456, 1, 1), (47103, 1, 1), (7168, 4, 1), (19456, 2, 0)],
)
def test_auth_refuses_to_start_with_a_hash_cost_under_owasps_minimum(
    database, jwt_keys, memory_kib, time_cost, lanes
):
    with pytest.raises(RuntimeError, match="under OWASP's minimum"):
        _auth(database, jwt_keys, memory_kib, time_cost, lanes)


@pytest.mark.parametrize(("memory_kib", "time_cost"), [(47104, 1), (12288, 3), (7168, 5)])
def test_any_pair_of_owasps_table_is_accepted_and_used(database, jwt_keys, memory_kib, time_cost):
    app = _auth(database, jwt_keys, memory_kib, time_cost, 1)
    with app.app_context():
        params = argon2.extract_parameters(passwords.hashed("s3nha-forte"))
    assert (params.memory_cost, params.time_cost, params.parallelism) == (memory_kib, time_cost, 1)
