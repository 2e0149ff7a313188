"""PATCH /auth/me whose current password is checked (argon2, slow, nothing locked) while the
account changes: it is refused and stores nothing, never a password over one changed meanwhile."""

import pytest
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


# A deactivation leaves the session alive but the account gone: the wrong password's 422. A new
# role ends every session of the account, the one making the change too: the revoked token's 401.
@pytest.mark.parametrize(
    ("changes", "status"),
    [({"active": False}, 422), ({"role": "admin"}, 401)],
    ids=["deactivated", "role-changed"],
)
def test_a_change_overlapping_an_admins_change_of_the_account_is_refused_and_stores_nothing(
    app, client, register, login, admin, changed_meanwhile, changes, status
):
    user = register()
    here = login()
    changed_meanwhile(
        lambda tester: tester.patch(
            f"/auth/users/{user['id']}", headers=headers(admin), json=changes
        )
    )
    refused = client.patch(
        "/auth/me", headers=headers(here), json={"name": "Ana Maria", "current_password": OLD}
    )
    assert refused.status_code == status
    if status == 422:
        assert list(refused.json["errors"]) == ["current_password"]
    assert stored_name(app) == "Ana"
