"""Addresses with letters beyond latin-1 (`łukasz@wp.pl`, `王@example.com`, IDN domains): the
verify answer the gateway passes upstream must be one gunicorn sends, or every request is a 500."""

from urllib.parse import unquote

import pytest
from gunicorn.http.wsgi import Response

from services.kit.testing import bearer

ADDRESSES = ["łukasz@wp.pl", "王@example.com", "ana@bücher.de", "zoë+loja@example.com"]


def gunicorns_check(answer_headers) -> None:
    """What gunicorn does with a WSGI answer's headers before it writes them: an invalid value
    raises InvalidResponseHeader, which it answers with a 500."""
    Response(req=None, sock=None, cfg=None).process_headers(list(answer_headers))


@pytest.fixture
def under_gunicorn(app, monkeypatch):
    """Every answer of the app goes through gunicorn's header check, as it does when served."""
    inner = app.wsgi_app

    def checked(environ, start_response):
        def start(status, headers, exc_info=None):
            gunicorns_check(headers)
            return start_response(status, headers, exc_info)

        return inner(environ, start)

    monkeypatch.setattr(app, "wsgi_app", checked)


@pytest.mark.parametrize("email", ADDRESSES)
def test_verify_sends_the_email_percent_encoded_in_a_header_gunicorn_accepts(
    client, register, login, email
):
    register(email=email)
    answer = client.get("/auth/verify", headers=bearer(login(email=email)["access_token"]))
    assert answer.status_code == 200
    gunicorns_check(answer.headers.items())
    sent = answer.headers["X-User-Email"]
    assert sent.isascii() and sent.isprintable()
    assert unquote(sent) == email


def test_an_ascii_address_goes_in_the_header_as_it_is(client, register, login):
    register(email="ana.maria+loja@example.com")
    tokens = login(email="ana.maria+loja@example.com")
    answer = client.get("/auth/verify", headers=bearer(tokens["access_token"]))
    assert answer.headers["X-User-Email"] == "ana.maria+loja@example.com"


@pytest.mark.parametrize("email", ADDRESSES)
def test_a_user_beyond_latin1_registers_signs_in_and_reads_their_account(
    client, under_gunicorn, email
):
    body = {"email": email, "password": "s3nha-forte", "name": "Łukasz"}
    assert client.post("/auth/register", json=body).status_code == 201
    signed_in = client.post("/auth/login", json={"email": email, "password": "s3nha-forte"})
    assert signed_in.status_code == 200
    headers = bearer(signed_in.json["access_token"])
    # The gateway asks verify before it passes /auth/me on.
    assert client.get("/auth/verify", headers=headers).status_code == 200
    me = client.get("/auth/me", headers=headers)
    assert me.status_code == 200 and me.json["email"] == email
