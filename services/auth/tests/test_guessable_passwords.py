"""A password easily guessed is refused wherever one is set (NIST SP 800-63B 3.1.1.2, OWASP ASVS
2.1.7): a common one, one close to it, or one built from the account's e-mail or name, is a 422
naming `password` (at registration and PATCH /auth/me) or a usage error (the CLI commands that
make the stack's accounts), and nothing is stored."""

import pytest
import zxcvbn
from sqlalchemy import func, select

from services.auth.models import User, db
from services.auth.schemas import TOO_EASY_TO_GUESS
from services.kit.testing import bearer, from_service

JURANDIR = {"email": "jurandir.quixaba@example.com", "name": "Jurandir Quixaba"}


def accounts(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(User))
        db.session.remove()
    return count


def registration(client, password, door="register", **account):
    body = {"email": "ana@example.com", "name": "Ana", **account, "password": password}
    if door == "vouched/register":
        # The console's sign-up form: its credential, the browser's address in the body.
        body["address"] = "203.0.113.7"
        return client.application.test_client().post(
            "/auth/vouched/register", json=body, headers=from_service("console", "auth")
        )
    return client.post("/auth/register", json=body)


def refused_as_guessable(response) -> bool:
    return response.status_code == 422 and response.json["errors"] == {
        "password": [TOO_EASY_TO_GUESS]
    }


@pytest.mark.parametrize("door", ["register", "vouched/register"])
def test_a_common_password_is_refused_at_registration_and_no_account_is_stored(app, client, door):
    answer = registration(client, "Password123!", door)
    assert refused_as_guessable(answer), answer.json
    assert accounts(app) == 0
    body = {"email": "ana@example.com", "password": "Password123!"}
    assert client.post("/auth/login", json=body).status_code == 401


@pytest.mark.parametrize("password", ["P@ssw0rd", "senha123", "s3cr3t-Pw", "whatever1"])
def test_a_password_close_to_a_common_one_is_refused(app, client, password):
    assert refused_as_guessable(registration(client, password))
    assert accounts(app) == 0


@pytest.mark.parametrize("password", ["jurandir.quixaba!", "JurandirQuixaba"])
def test_a_password_built_from_the_accounts_email_or_name_is_refused(app, client, password):
    assert refused_as_guessable(registration(client, password, **JURANDIR))
    assert accounts(app) == 0
    # The same password is no easy guess for an account it says nothing about.
    assert registration(client, password).status_code == 201


@pytest.mark.parametrize("password", ["cavalo-bateria-grampo", "s3nha-forte"])
def test_a_passphrase_is_accepted_and_opens_a_session(client, password):
    assert registration(client, password).status_code == 201
    body = {"email": "ana@example.com", "password": password}
    assert client.post("/auth/login", json=body).status_code == 200


def test_a_long_password_is_judged_by_its_first_16_characters(app, client, monkeypatch):
    # zxcvbn's cost grows with the length (and raises past 72): a longer password is no 500, no
    # stall, and its start decides.
    estimated = []
    estimate = zxcvbn.zxcvbn
    monkeypatch.setattr(zxcvbn, "zxcvbn", lambda p, **kw: estimated.append(p) or estimate(p, **kw))
    assert refused_as_guessable(registration(client, "password" * 12))
    assert accounts(app) == 0
    costly = "@4(<[{ 3!|1|7+0$5%2" * 4  # each of zxcvbn's l33t characters, 76 in all
    assert registration(client, "lua-cheia-sobre-o-rio-" * 4 + "password").status_code == 201
    assert registration(client, costly, email="l33t@example.com").status_code == 201
    assert [len(each) for each in estimated] == [16, 16, 16]


def test_a_refused_registration_is_counted_by_the_registration_throttle(app, client):
    # An estimate costs auth CPU: a sender of refused passwords meets the limit like any other.
    limit = app.config["REGISTER_MAX_ATTEMPTS"]
    sent = {"X-Forwarded-For": "203.0.113.44"}
    answers = [
        client.post(
            "/auth/register",
            json={"email": f"p{n}@example.com", "name": "P", "password": "Password123!"},
            headers=sent,
        )
        for n in range(limit + 1)
    ]
    assert all(refused_as_guessable(answer) for answer in answers[:-1])
    assert answers[-1].status_code == 429


def test_a_refused_password_change_leaves_the_old_password_working(client, register, login):
    register()
    headers = bearer(login()["access_token"])
    change = {"password": "senha123", "current_password": "s3nha-forte"}
    assert refused_as_guessable(client.patch("/auth/me", headers=headers, json=change))
    assert login()["access_token"]  # s3nha-forte still opens a session
    body = {"email": "ana@example.com", "password": "senha123"}
    assert client.post("/auth/login", json=body).status_code == 401
    # The name given with it counts: a password built from the new name is refused too.
    renamed = {**change, "name": "Jurandir Quixaba", "password": "JurandirQuixaba"}
    assert refused_as_guessable(client.patch("/auth/me", headers=headers, json=renamed))
    assert client.get("/auth/me", headers=headers).json["name"] == "Ana"


@pytest.mark.parametrize(
    ("command", "email_variable", "password_variable"),
    [
        (["ensure-admin"], "FEIRA_ADMIN_EMAIL", "FEIRA_ADMIN_PASSWORD"),
        (["ensure-user"], "FEIRA_MONITOR_EMAIL", "FEIRA_MONITOR_PASSWORD"),
    ],
)
@pytest.mark.parametrize("password", ["Password123!", "monitoring1"])
def test_the_commands_that_make_the_stacks_accounts_refuse_a_guessable_password(
    app, client, monkeypatch, command, email_variable, password_variable, password
):
    monkeypatch.setenv(email_variable, "boss@example.com")
    monkeypatch.setenv(password_variable, password)
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 2, result.output
    assert f"{password_variable}: {TOO_EASY_TO_GUESS}" in " ".join(result.output.split())
    assert password not in result.output
    assert accounts(app) == 0


def test_ensure_admin_does_not_stop_a_deploy_on_a_password_it_will_not_use(
    app, client, monkeypatch
):
    # An active admin exists: FEIRA_ADMIN_PASSWORD makes and promotes no one, so it is not judged.
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setenv("FEIRA_ADMIN_PASSWORD", "cavalo-bateria-grampo")
    assert app.test_cli_runner().invoke(args=["ensure-admin"]).exit_code == 0
    monkeypatch.setenv("FEIRA_ADMIN_PASSWORD", "Password123!")
    result = app.test_cli_runner().invoke(args=["ensure-admin"])
    assert result.exit_code == 0, result.output
    assert "already present" in result.output
    # A new address makes a new admin with it: judged again.
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", "second.boss@example.com")
    assert app.test_cli_runner().invoke(args=["ensure-admin"]).exit_code == 2
