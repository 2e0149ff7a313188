"""Passwords are hashed with argon2id at no less than OWASP's minimum cost (19 MiB, 2
iterations), and a hash made with weaker parameters is made again at the next sign-in."""

import argon2
from sqlalchemy import select, update

from services.auth.models import User, db


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
