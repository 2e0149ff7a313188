"""`flask ensure-admin`, run by every `make up` and by the Kubernetes migrate Job: it creates the
first admin from FEIRA_ADMIN_EMAIL / FEIRA_ADMIN_PASSWORD, and makes an account that already holds
that email an active admin only when its password is that one and no admin is active. Whatever it
leaves alone, it says why, and succeeds: the deploy goes on."""

import pytest
from sqlalchemy import select

from services.auth.models import Session, User, db
from services.kit.testing import bearer

EMAIL, PASSWORD = "boss@example.com", "boss-password"


@pytest.fixture
def ensure_admin(app, client, monkeypatch):
    """`flask ensure-admin` as a deploy runs it: its exit code and what it printed."""
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", EMAIL)
    monkeypatch.setenv("FEIRA_ADMIN_PASSWORD", PASSWORD)

    def run():
        result = app.test_cli_runner().invoke(args=["ensure-admin"])
        assert result.exit_code == 0, result.output
        assert PASSWORD not in result.output
        return result.output

    return run


def account(app) -> User:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.email == EMAIL))
        db.session.expunge_all()
        db.session.remove()
    return found


def test_the_first_admin_is_created_once(app, ensure_admin):
    assert "created" in ensure_admin()
    assert "already present" in ensure_admin()
    boss = account(app)
    assert (boss.role, boss.active) == ("admin", True)


def test_an_admin_who_changed_the_password_keeps_it(app, client, ensure_admin):
    ensure_admin()
    tokens = client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json
    changed = client.patch(
        "/auth/me",
        headers=bearer(tokens["access_token"]),
        json={"password": "their-own-password", "current_password": PASSWORD},
    )
    assert changed.status_code == 200
    assert "already present" in ensure_admin()
    body = {"email": EMAIL, "password": "their-own-password"}
    assert client.post("/auth/login", json=body).status_code == 200


def test_someone_who_registered_the_email_first_is_not_made_admin(
    app, client, register, ensure_admin
):
    register(email=EMAIL, password="squatters-password")
    said = ensure_admin()
    assert "left as it is (user, active)" in said
    assert "its password is not FEIRA_ADMIN_PASSWORD" in said
    assert account(app).role == "user"


def test_an_account_an_admin_deactivated_stays_deactivated(app, client, admin, ensure_admin):
    ensure_admin()
    boss = account(app)
    answer = client.patch(
        f"/auth/users/{boss.id}", headers=bearer(admin["access_token"]), json={"active": False}
    )
    assert answer.status_code == 200
    said = ensure_admin()
    assert "left as it is (admin, deactivated)" in said and "an active admin exists" in said
    assert account(app).active is False


def test_an_account_an_admin_demoted_stays_a_user(app, client, admin, ensure_admin):
    ensure_admin()
    boss = account(app)
    client.patch(
        f"/auth/users/{boss.id}", headers=bearer(admin["access_token"]), json={"role": "user"}
    )
    assert "left as it is (user, active)" in ensure_admin()
    assert account(app).role == "user"


def test_the_operators_account_is_made_admin_when_no_admin_is_active(
    app, client, register, login, ensure_admin
):
    register(email=EMAIL, password=PASSWORD)
    as_user = login(email=EMAIL, password=PASSWORD)
    assert "made an active admin" in ensure_admin()
    boss = account(app)
    assert (boss.role, boss.active) == ("admin", True)
    # Its tokens said "user": that session ends, the next sign-in is an admin's.
    assert client.get("/auth/verify", headers=bearer(as_user["access_token"])).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(Session.revoked_reason)) == "role-changed"
        db.session.remove()
    again = login(email=EMAIL, password=PASSWORD)
    assert client.get("/auth/users", headers=bearer(again["access_token"])).status_code == 200


@pytest.mark.parametrize("password", ["Boss-Password@Example.com", "BOSS-PASSWORD"])
def test_a_password_that_is_the_email_or_its_name_part_is_refused_as_registration_refuses_it(
    app, client, monkeypatch, password
):
    """Refused with a usage error (exit 2) that names the variable, not its value: nothing is
    created, and the deploy stops there."""
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", "boss-password@example.com")
    monkeypatch.setenv("FEIRA_ADMIN_PASSWORD", password)
    result = app.test_cli_runner().invoke(args=["ensure-admin"])
    assert result.exit_code == 2
    assert "FEIRA_ADMIN_PASSWORD: Must not be the e-mail address" in result.output
    assert password not in result.output
    with app.app_context():
        assert db.session.scalar(select(User.id)) is None
        db.session.remove()


DECOMPOSED, PRECOMPOSED = "jose\u0301@example.com", "jos\u00e9@example.com"


def test_an_admin_email_typed_with_a_combining_accent_is_one_account_however_spelt(
    app, client, monkeypatch, ensure_admin
):
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", DECOMPOSED)
    assert "created" in ensure_admin()
    for spelling in (DECOMPOSED, PRECOMPOSED):
        body = {"email": spelling, "password": PASSWORD}
        assert client.post("/auth/login", json=body).status_code == 200, spelling
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", PRECOMPOSED)
    assert "already present" in ensure_admin()
    with app.app_context():
        admins = db.session.scalars(select(User.email).where(User.role == "admin")).all()
        db.session.remove()
    assert admins == [PRECOMPOSED]
