"""Conditional reads and writes of accounts: GET /auth/me and GET /auth/users/{id} carry an ETag,
and PATCH /auth/me, DELETE /auth/me and PATCH /auth/users/{id} sent with a stale If-Match are a
412 that changes nothing; the current tag lets one write through, checked under the row's lock.
Demotions lock the active admins before the account, so two at once never deadlock."""

import pytest
from sqlalchemy import select

from services.auth.models import LoginAttempt, User, db
from services.kit.testing import answered_behind, at_once, bearer, racing_patches

STALE = 'W/"0000000000000000000000000000000000000000"'
PASSWORD = "s3nha-forte"  # the conftest's


def auth(tokens, **headers):
    return {**bearer(tokens["access_token"]), **headers}


def stored(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge_all()
        db.session.remove()
    return user


def test_the_callers_account_and_an_account_by_id_carry_one_etag_and_answer_304(
    client, register, login, admin
):
    user = register()
    mine = client.get("/auth/me", headers=auth(login()))
    by_id = client.get(f"/auth/users/{user['id']}", headers=auth(admin))
    assert mine.headers["ETag"] == by_id.headers["ETag"]
    assert mine.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/auth/me", headers=auth(login(), **{"If-None-Match": mine.headers["ETag"]}))
    assert again.status_code == 304 and again.data == b""


def test_an_admins_change_with_a_stale_tag_is_a_412_and_changes_nothing(
    app, client, register, login, admin
):
    user = register()
    tokens = login()
    url = f"/auth/users/{user['id']}"
    refused = client.patch(url, json={"active": False}, headers=auth(admin, **{"If-Match": STALE}))
    assert refused.status_code == 412 and refused.mimetype == "application/problem+json"
    assert stored(app, user["id"]).active is True
    assert client.get("/auth/verify", headers=auth(tokens)).status_code == 200


def test_an_admins_change_with_the_current_tag_is_a_200_and_the_tag_then_stale(
    client, register, admin
):
    url = f"/auth/users/{register()['id']}"
    tag = client.get(url, headers=auth(admin)).headers["ETag"]
    changed = client.patch(url, json={"role": "admin"}, headers=auth(admin, **{"If-Match": tag}))
    assert changed.status_code == 200 and changed.json["role"] == "admin"
    again = client.patch(url, json={"active": False}, headers=auth(admin, **{"If-Match": tag}))
    assert again.status_code == 412


def test_a_stale_tag_on_the_last_admins_demotion_is_a_412_before_its_409(client, admin):
    me = client.get("/auth/me", headers=auth(admin)).json
    refused = client.patch(
        f"/auth/users/{me['id']}", json={"role": "user"}, headers=auth(admin, **{"If-Match": STALE})
    )
    assert refused.status_code == 412


def test_a_rename_with_a_stale_tag_is_a_412_that_checks_no_password(app, client, register, login):
    user = register()
    tokens = login()
    # A wrong current password too: the tag is told first, and no guess is counted.
    body = {"name": "Ana Maria", "current_password": "not-the-password"}
    for _ in range(6):
        refused = client.patch("/auth/me", json=body, headers=auth(tokens, **{"If-Match": STALE}))
        assert refused.status_code == 412
    assert stored(app, user["id"]).name == "Ana"
    tag = client.get("/auth/me", headers=auth(tokens)).headers["ETag"]
    body["current_password"] = PASSWORD
    renamed = client.patch("/auth/me", json=body, headers=auth(tokens, **{"If-Match": tag}))
    assert renamed.status_code == 200 and renamed.json["name"] == "Ana Maria"


def test_a_password_change_with_a_stale_tag_changes_no_password(client, register, login):
    register()
    tokens = login()
    body = {"password": "nova-senha-1", "current_password": PASSWORD}
    refused = client.patch("/auth/me", json=body, headers=auth(tokens, **{"If-Match": STALE}))
    assert refused.status_code == 412
    assert login(password=PASSWORD)
    assert client.get("/auth/verify", headers=auth(tokens)).status_code == 200


def test_a_deletion_of_ones_account_with_a_stale_tag_is_a_412_and_deletes_nothing(
    app, client, register, login
):
    user = register()
    tokens = login()
    refused = client.delete("/auth/me", headers=auth(tokens, **{"If-Match": STALE}))
    assert refused.status_code == 412
    assert stored(app, user["id"]) is not None
    tag = client.get("/auth/me", headers=auth(tokens)).headers["ETag"]
    assert client.delete("/auth/me", headers=auth(tokens, **{"If-Match": tag})).status_code == 204
    assert stored(app, user["id"]) is None


def test_two_admin_changes_with_the_same_current_tag_give_one_200_and_one_412(
    app, client, register, admin
):
    user = register()
    row = select(User.id).where(User.id == user["id"])
    changes = [{"role": "admin"}, {"active": False}]
    assert racing_patches(app, f"/auth/users/{user['id']}", auth(admin), changes, row) == [
        200,
        412,
    ]


def test_two_renames_with_the_same_current_tag_give_one_200_and_one_412(
    app, client, register, login
):
    user = register()
    row = select(User.id).where(User.id == user["id"])
    changes = [
        {"name": "Ana Maria", "current_password": PASSWORD},
        {"name": "Ana Clara", "current_password": PASSWORD},
    ]
    assert racing_patches(app, "/auth/me", auth(login()), changes, row) == [200, 412]
    # The 412's password was right: its guess is taken back off the session's count, as the 200's.
    with app.app_context():
        counted = db.session.scalars(
            select(LoginAttempt.failures).where(LoginAttempt.source.startswith("session "))
        ).all()
        db.session.remove()
    assert counted == [0]


@pytest.mark.parametrize("change", [{"role": "user"}, {"active": False}], ids=["demoted", "off"])
def test_two_admins_demoted_at_once_with_their_tags_leave_one_admin_without_a_deadlock(
    app, client, register, login, admin, change
):
    """Both admins' rows are held until both demotions wait: released together, each would take
    its own account's row and then wait for the other's among the admins (a deadlock PostgreSQL
    breaks with a 503) did it not lock the admins first. Queued on them, the second finds itself
    the last admin: a 409."""
    root = client.get("/auth/me", headers=auth(admin)).json["id"]
    other = register(email="bia@example.com")["id"]
    promoted = client.patch(f"/auth/users/{other}", json={"role": "admin"}, headers=auth(admin))
    assert promoted.status_code == 200
    sent = {
        target: auth(
            admin,
            **{
                "If-Match": client.get(f"/auth/users/{target}", headers=auth(admin)).headers["ETag"]
            },
        )
        for target in (root, other)
    }
    waiting = [root, other]

    def demote():
        target = waiting.pop()
        url = f"/auth/users/{target}"
        return app.test_client().patch(url, json=change, headers=sent[target]).status_code

    with app.app_context(), db.engine.connect() as holder:
        holder.execute(select(User.id).where(User.id.in_([root, other])).with_for_update())
        answers = answered_behind(app, holder, lambda: at_once(app, demote), waiters=2)
    assert sorted(answers) == [200, 409]
    with app.app_context():
        admins = db.session.scalars(
            select(User.id).where(User.role == "admin", User.active.is_(True))
        ).all()
        db.session.remove()
    assert len(admins) == 1
