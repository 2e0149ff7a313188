"""A sign-in whose password is checked (argon2, slow, nothing locked) while the account changes: the
session it would start is refused, never left alive beside the change, and a hash made stronger at
that sign-in never writes the old password back over the new one."""

import argon2
from sqlalchemy import func, select, update

from services.auth.models import Session, User, db
from services.kit.testing import bearer

OLD, NEW = "s3nha-forte", "nova-senha-1"


def sign_in(client, password):
    return client.post("/auth/login", json={"email": "ana@example.com", "password": password})


def live_sessions(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(Session.revoked_at.is_(None)))
        db.session.remove()
    return count


def password_change(headers):
    body = {"password": NEW, "current_password": OLD}
    return lambda client: client.patch("/auth/me", headers=headers, json=body)


def test_a_sign_in_overlapping_a_password_change_is_refused_and_leaves_no_session(
    app, client, register, login, changed_meanwhile
):
    register()
    here = login()
    changed_meanwhile(password_change(bearer(here["access_token"])))
    refused = sign_in(client, OLD)
    assert refused.status_code == 401 and refused.json["detail"] == "The email or password is wrong"
    # Only the session that changed the password is alive.
    assert live_sessions(app) == 1
    assert sign_in(client, NEW).status_code == 200


def test_a_sign_in_overlapping_a_deactivation_is_refused_and_leaves_no_session(
    app, client, register, admin, changed_meanwhile
):
    user = register()
    deactivate = bearer(admin["access_token"])
    changed_meanwhile(
        lambda tester: tester.patch(
            f"/auth/users/{user['id']}", headers=deactivate, json={"active": False}
        )
    )
    assert sign_in(client, OLD).status_code == 401
    with app.app_context():
        ana = db.session.scalar(
            select(func.count())
            .select_from(Session)
            .join(User)
            .where(User.email == "ana@example.com", Session.revoked_at.is_(None))
        )
        db.session.remove()
    assert ana == 0


def test_a_rehash_at_sign_in_never_writes_the_old_password_over_a_new_one(
    app, client, register, login, changed_meanwhile
):
    register()
    here = login()
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(OLD)
    with app.app_context():
        db.session.execute(update(User).values(password_hash=weak))
        db.session.commit()
        db.session.remove()
    changed_meanwhile(password_change(bearer(here["access_token"])))
    assert sign_in(client, OLD).status_code == 401
    assert sign_in(client, OLD).status_code == 401
    assert sign_in(client, NEW).status_code == 200


def test_two_sign_ins_making_one_hash_stronger_both_succeed(
    app, client, register, changed_meanwhile
):
    register()
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(OLD)
    with app.app_context():
        db.session.execute(update(User).values(password_hash=weak))
        db.session.commit()
        db.session.remove()
    # The other sign-in stores its stronger hash first; this one's finds it and checks it.
    changed_meanwhile(lambda tester: sign_in(tester, OLD))
    assert sign_in(client, OLD).status_code == 200
    assert live_sessions(app) == 2
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash))
        db.session.remove()
    assert argon2.extract_parameters(stored).memory_cost >= 19 * 1024
