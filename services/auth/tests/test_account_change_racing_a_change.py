"""PATCH /auth/me whose current password is checked (argon2, slow, nothing locked) while the
account changes: it is refused and stores nothing, never a password over one changed meanwhile."""

from sqlalchemy import select

from services.auth.models import User, db
from services.kit.testing import bearer

OLD, NEW = "s3nha-forte", "nova-senha-1"


def headers(tokens):
    return bearer(tokens["access_token"])


def stored_name(app) -> str:
    with app.app_context():
        name = db.session.scalar(select(User.name).where(User.email == "ana@example.com"))
        db.session.remove()
    return name


def test_a_password_change_overlapping_another_is_refused_and_keeps_the_other_and_its_session(
    client, register, login, changed_meanwhile
):
    register()
    here, owner = login(), login()
    changed_meanwhile(
        lambda tester: tester.patch(
            "/auth/me", headers=headers(owner), json={"password": NEW, "current_password": OLD}
        )
    )
    refused = client.patch(
        "/auth/me", headers=headers(here), json={"password": "third-one-3", "current_password": OLD}
    )
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["current_password"]
    assert client.get("/auth/verify", headers=headers(owner)).status_code == 200
    assert login(password=NEW)
    wrong = {"email": "ana@example.com", "password": "third-one-3"}
    assert client.post("/auth/login", json=wrong).status_code == 401


def test_a_change_overlapping_a_deactivation_is_refused(
    app, client, register, login, admin, changed_meanwhile
):
    user = register()
    here = login()
    changed_meanwhile(
        lambda tester: tester.patch(
            f"/auth/users/{user['id']}", headers=headers(admin), json={"active": False}
        )
    )
    refused = client.patch(
        "/auth/me", headers=headers(here), json={"name": "Ana Maria", "current_password": OLD}
    )
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["current_password"]
    assert stored_name(app) == "Ana"


def test_a_change_from_a_session_revoked_meanwhile_is_refused_with_401(
    app, client, register, login, admin, changed_meanwhile
):
    user = register()
    here = login()
    # A new role ends every session of the account, the one making the change too.
    changed_meanwhile(
        lambda tester: tester.patch(
            f"/auth/users/{user['id']}", headers=headers(admin), json={"role": "admin"}
        )
    )
    refused = client.patch(
        "/auth/me", headers=headers(here), json={"name": "Ana Maria", "current_password": OLD}
    )
    assert refused.status_code == 401
    assert stored_name(app) == "Ana"
