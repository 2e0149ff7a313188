"""`python -m services.collector`: a `run --wait` outlives the access token it signed in with; an
error answer that is no problem+json (a proxy's page, an empty body) ends it in one line; and it
signs out at the end, whatever the end was, unless the gateway could not be reached. It lists
every source, page after page, says how many runs there are past those it shows, and refuses a
selector without its field in one line."""

import http.client
import itertools
import socket
import threading
import time
import urllib.request

import pytest
from flask import Flask, Response, request

from services.collector import __main__ as command
from services.kit.testing import LiveServer

PASSWORD = "the-admin-password"


class Gateway:
    """A stand-in for the gateway with auth's token rules: a login or a refresh issues a pair, a
    refresh token is spent once used, and `expire()` makes every access token issued so far
    answer 401 from then on, as one does 15 minutes after its login. A run is queued, then
    running, and ends at its `polls_to_end`th poll. `refreshes_work = False` makes the
    tokens a refresh issues dead on arrival, `refresh_is_refused` refuses the refresh itself.
    The lists of sources and of runs are `source_rows` and `run_rows` (newest first), paged as
    the API pages them; the list of sources answers `sources_answer` (a Response) instead when
    one is set, after `sources_delay_s`; the logout `logout_answer`, a refresh `refresh_answer`.
    `gone_after_login` stops the gateway once it answered the login. `seen` is each call as
    `"<method> <path> <token>"`."""

    def __init__(self):
        self.app = Flask(__name__)
        self.serials = itertools.count(1)
        self.valid: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.seen: list[str] = []
        self.polls = 0
        self.polls_to_end = 4
        self.expire_at_poll = None
        self.refreshes_work = True
        self.refresh_is_refused = False
        self.sources_answer = None
        self.source_rows: list[dict] = []
        self.run_rows: list[dict] = []
        self.sources_delay_s = 0
        self.logout_answer = None
        self.refresh_answer = None
        self.gone_after_login = False
        self.server = None
        self.app.add_url_rule("/auth/login", view_func=self.login, methods=["POST"])
        self.app.add_url_rule("/auth/refresh", view_func=self.refresh, methods=["POST"])
        self.app.add_url_rule("/auth/logout", view_func=self.logout, methods=["POST"])
        self.app.add_url_rule("/collector/sources", view_func=self.sources)
        self.app.add_url_rule(
            "/collector/sources/<int:source_id>/runs", view_func=self.queue, methods=["POST"]
        )
        self.app.add_url_rule("/collector/runs/<int:run_id>", view_func=self.poll)
        self.app.add_url_rule("/collector/runs", view_func=self.runs)
        self.app.add_url_rule(
            "/collector/runs/<int:run_id>/cancel", view_func=self.cancel, methods=["POST"]
        )
        self.end_status = "succeeded"

    def pair(self, works=True):
        serial = next(self.serials)
        access, refresh = f"access-{serial}", f"refresh-{serial}"
        if works:
            self.valid.add(access)
        self.refresh_tokens.add(refresh)
        return {"access_token": access, "refresh_token": refresh}

    def expire(self):
        self.valid.clear()

    def caller(self):
        bearer = request.headers.get("Authorization", "")
        self.seen.append(f"{request.method} {request.path} {bearer.removeprefix('Bearer ')}")
        return bearer.removeprefix("Bearer ") in self.valid

    def unauthorized(self):
        return {"detail": "The token is invalid or expired"}, 401

    def login(self):
        self.caller()
        if request.json["password"] != PASSWORD:
            return {"detail": "Wrong email or password"}, 401
        if self.gone_after_login:
            self.server.stop()  # its answer still goes out on this connection; no other comes in
        return self.pair()

    def refresh(self):
        self.caller()
        token = request.json["refresh_token"]
        if self.refresh_is_refused or token not in self.refresh_tokens:
            return {"detail": "The refresh token is invalid or expired"}, 401
        self.refresh_tokens.discard(token)
        if self.refresh_answer is not None:
            return self.refresh_answer
        return self.pair(works=self.refreshes_work)

    def logout(self):
        if not self.caller():
            return self.unauthorized()
        if self.logout_answer is not None:
            return self.logout_answer
        self.valid.discard(request.headers["Authorization"].removeprefix("Bearer "))
        return "", 204

    def sources(self):
        if not self.caller():
            return self.unauthorized()
        # Not time.sleep: the fixture makes that return at once, for the command's polls.
        threading.Event().wait(self.sources_delay_s)
        if self.sources_answer is not None:
            return self.sources_answer
        return self.page_of(self.source_rows)

    def runs(self):
        if not self.caller():
            return self.unauthorized()
        # The API's filters, as it applies them.
        wanted = {key: request.args[key] for key in ("source_id", "status") if key in request.args}
        return self.page_of(
            [run for run in self.run_rows if all(str(run[k]) == v for k, v in wanted.items())]
        )

    def page_of(self, rows):
        page, per_page = int(request.args["page"]), int(request.args["per_page"])
        assert per_page <= 100, "the API pages at most 100"
        items = rows[(page - 1) * per_page : page * per_page]
        return {"items": items, "page": page, "per_page": per_page, "total": len(rows)}

    def queue(self, source_id):
        if not self.caller():
            return self.unauthorized()
        return self.run("queued"), 201

    def poll(self, run_id):
        self.polls += 1
        if self.polls == self.expire_at_poll:
            self.expire()
        if not self.caller():
            return self.unauthorized()
        return self.run(self.end_status if self.polls >= self.polls_to_end else "running")

    def cancel(self, run_id):
        if not self.caller():
            return self.unauthorized()
        return self.run("running", run_id=run_id), 202

    def run(self, status, run_id=7, source_id=3):
        return {
            "id": run_id,
            "source_id": source_id,
            "status": status,
            "pages_fetched": 100,
            "items_found": 40,
            "created": 40,
            "updated": 0,
            "unchanged": 0,
            "rejected_count": 0,
            "error": None,
            "rejected": [],
        }


@pytest.fixture
def gateway(monkeypatch, tmp_path):
    fake = Gateway()
    server = fake.server = LiveServer(fake.app).start()
    monkeypatch.chdir(tmp_path)  # no .env, no .env.example: only what the test sets
    monkeypatch.setenv("FEIRA_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.setenv("GATEWAY_URL", server.base_url)
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", "admin@feira.local")
    monkeypatch.setenv("FEIRA_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.setattr(command.time, "sleep", lambda seconds: None)
    yield fake
    server.stop()


def test_run_wait_renews_an_expired_access_token_and_reports_the_end_of_the_run(gateway, capsys):
    gateway.expire_at_poll = 2

    assert command.main(["run", "3", "--wait"]) == 0

    out, err = capsys.readouterr()
    assert "run 7 queued" in out
    assert "run 7 of source 3: succeeded  pages 100" in out
    assert gateway.seen == [
        "POST /auth/login ",
        "POST /collector/sources/3/runs access-1",
        "GET /collector/runs/7 access-1",
        "GET /collector/runs/7 access-1",
        "POST /auth/refresh ",
        "GET /collector/runs/7 access-2",
        "GET /collector/runs/7 access-2",
        "POST /auth/logout access-2",
    ]
    for secret in (PASSWORD, "access-", "refresh-"):
        assert secret not in out + err


def test_a_401_after_renewing_the_token_still_exits_naming_the_call(gateway, capsys):
    gateway.expire_at_poll = 2
    gateway.refreshes_work = False

    with pytest.raises(SystemExit, match=r"GET /collector/runs/7: 401 The token is invalid"):
        command.main(["run", "3", "--wait"])

    assert gateway.seen[-6:] == [
        "GET /collector/runs/7 access-1",
        "POST /auth/refresh ",
        "GET /collector/runs/7 access-2",
        # Signing out tries as any call does; its failure does not replace the command's.
        "POST /auth/logout access-2",
        "POST /auth/refresh ",
        "POST /auth/logout access-3",
    ]


def test_a_refused_refresh_token_exits_naming_the_refresh(gateway):
    gateway.expire_at_poll = 2
    gateway.refresh_is_refused = True

    with pytest.raises(SystemExit, match=r"POST /auth/refresh: 401 The refresh token is invalid"):
        command.main(["run", "3", "--wait"])

    assert gateway.seen[-2:] == ["GET /collector/runs/7 access-1", "POST /auth/refresh "]


PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (Response(PROXY_PAGE, 502, mimetype="text/html"), "502 BAD GATEWAY (its body is text/html"),
        (Response("", 502), "502 BAD GATEWAY (its body is empty)"),
        (
            Response('{"detail": "Products cannot answer"}', 503, mimetype="application/json"),
            "503 Products cannot answer",
        ),
    ],
    ids=["html", "empty", "problem"],
)
def test_an_error_answer_ends_the_command_in_one_line_naming_its_status_and_signs_out(
    gateway, answer, says
):
    gateway.sources_answer = answer

    with pytest.raises(SystemExit) as ended:
        command.main(["sources"])

    message = str(ended.value.code)
    assert message.startswith(f"GET /collector/sources?per_page=100&page=1: {says}")
    assert "\n" not in message and "<html>" not in message
    assert gateway.seen[-1] == "POST /auth/logout access-1"


def test_a_finished_command_signs_out_and_its_session_token_is_no_longer_valid(gateway):
    assert command.main(["sources"]) == 0

    assert gateway.seen == [
        "POST /auth/login ",
        "GET /collector/sources access-1",
        "POST /auth/logout access-1",
    ]
    assert gateway.valid == set()


def test_a_failed_sign_out_is_told_on_stderr_and_leaves_the_commands_end_as_it_was(gateway, capsys):
    gateway.logout_answer = Response(PROXY_PAGE, 502, mimetype="text/html")
    assert command.main(["sources"]) == 0
    assert "could not sign out (POST /auth/logout: 502" in capsys.readouterr().err

    gateway.sources_answer = Response("", 502)
    with pytest.raises(SystemExit, match=r"GET /collector/sources\?per_page=100&page=1: 502"):
        command.main(["sources"])
    assert gateway.seen[-1].startswith("POST /auth/logout ")


EXPIRED = ({"detail": "The token is invalid or expired"}, 401)


def test_a_sign_out_ended_by_an_odd_refresh_answer_is_told_in_one_line(gateway, capsys):
    # The logout finds the token expired, and the refresh answers no token pair.
    gateway.logout_answer = EXPIRED
    gateway.refresh_answer = {"tokens": None}

    assert command.main(["sources"]) == 0

    err = capsys.readouterr().err
    assert err.startswith("could not sign out (KeyError: 'access_token')")
    assert err.count("\n") == 1 and "access-" not in err and "refresh-" not in err


def test_a_sign_out_whose_answer_is_cut_short_leaves_the_commands_error_as_it_was(
    gateway, capsys, monkeypatch
):
    # http.client's errors about a broken answer are no OSError: said in one line all the same.
    urlopen = urllib.request.urlopen

    def cut_short(request, **options):
        if request.full_url.endswith("/auth/logout"):
            raise http.client.IncompleteRead(b"")
        return urlopen(request, **options)

    monkeypatch.setattr(command.urllib.request, "urlopen", cut_short)
    gateway.sources_answer = Response("", 502)

    with pytest.raises(SystemExit, match=r"GET /collector/sources\?per_page=100&page=1: 502"):
        command.main(["sources"])

    err = capsys.readouterr().err
    assert err.startswith(
        "could not sign out (POST /auth/logout: the gateway's answer was cut short "
        "(IncompleteRead))"
    )
    assert err.count("\n") == 1


NOT_SIGNED_OUT = (
    "not signed out (the gateway could not be reached); the session ends when its tokens expire\n"
)


def test_a_gateway_that_does_not_answer_in_time_ends_the_command_without_a_sign_out(
    gateway, capsys, monkeypatch
):
    monkeypatch.setattr(command, "TIMEOUT_S", 0.2)
    gateway.sources_delay_s = 3

    started = time.monotonic()
    with pytest.raises(
        SystemExit,
        match=r"GET /collector/sources\?per_page=100&page=1: the gateway at .* did not answer",
    ):
        command.main(["sources"])

    # Not asked again, to wait as long for the same silence, nor waited out (3 s).
    assert time.monotonic() - started < 1.5
    assert gateway.seen == ["POST /auth/login ", "GET /collector/sources access-1"]
    assert capsys.readouterr().err == NOT_SIGNED_OUT


def test_a_gateway_gone_after_the_login_ends_the_command_without_a_sign_out(gateway, capsys):
    gateway.gone_after_login = True

    with pytest.raises(SystemExit, match=r"the gateway at .* cannot be reached"):
        command.main(["sources"])

    assert capsys.readouterr().err == NOT_SIGNED_OUT


def test_a_gateway_that_closes_the_connection_unanswered_ends_the_command_in_one_line(
    gateway, monkeypatch
):
    """Connected, then closed with no answer (a gateway restarting): not a traceback."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def close_each_connection():
        for _ in range(3):
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    threading.Thread(target=close_each_connection, daemon=True).start()
    monkeypatch.setenv("GATEWAY_URL", f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(SystemExit, match=r"the gateway at .* cannot be reached: "):
            command.main(["sources"])
    finally:
        listener.close()


def test_sources_lists_every_source_page_after_page(gateway, capsys):
    gateway.source_rows = [
        {"id": n, "name": f"Loja {n}", "schedule": None, "active": True, "last_run": None}
        for n in range(1, 131)
    ]

    assert command.main(["sources"]) == 0

    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [str(n) for n in range(1, 131)]
    assert gateway.seen.count("GET /collector/sources access-1") == 2


def test_runs_shows_the_latest_50_and_says_how_many_there_are_in_all(gateway, capsys):
    gateway.run_rows = [gateway.run("succeeded", run_id=n) for n in range(312, 0, -1)]

    assert command.main(["runs"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out[:-1]] == [str(n) for n in range(312, 262, -1)]
    assert out[-1] == "50 of 312 runs; --limit N for more"


def test_runs_with_a_limit_past_a_page_pages_through_to_it_and_says_nothing_more_when_all(
    gateway, capsys
):
    gateway.run_rows = [gateway.run("succeeded", run_id=n) for n in range(150, 0, -1)]

    assert command.main(["runs", "--limit", "500"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out] == [str(n) for n in range(150, 0, -1)]
    assert gateway.seen.count("GET /collector/runs access-1") == 2


def test_runs_asks_the_api_for_the_source_and_status_given(gateway, capsys):
    gateway.run_rows = [
        gateway.run(status, run_id=n, source_id=source)
        for n, (status, source) in enumerate(
            [("failed", 3), ("succeeded", 3), ("failed", 4), ("failed", 3)], start=1
        )
    ]

    assert command.main(["runs", "--source", "3", "--status", "failed"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out] == ["1", "4"]


def test_a_selector_without_its_field_is_refused_in_one_line_before_signing_in(gateway, capsys):
    argv = ["sources", "add", "x", "http://127.0.0.1:5092/loja-simples/", "--selector", "name"]

    with pytest.raises(SystemExit) as ended:
        command.main(argv)

    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--selector: 'name' is not FIELD=SELECTOR, as name=h1.titulo" in err
    assert gateway.seen == []


def test_run_wait_ends_when_an_admin_stopped_the_run_and_exits_1(gateway, capsys):
    gateway.end_status = "cancelled"

    assert command.main(["run", "3", "--wait"]) == 1

    out, _ = capsys.readouterr()
    assert "run 7 of source 3: cancelled" in out
    assert gateway.seen[-1] == "POST /auth/logout access-1"


def test_cancel_asks_the_api_to_stop_the_run_and_says_it_ends_before_its_next_page(gateway, capsys):
    assert command.main(["cancel", "9"]) == 0

    out, _ = capsys.readouterr()
    assert out == "run 9 asked to stop: it ends before its next page\n"
    assert gateway.seen == [
        "POST /auth/login ",
        "POST /collector/runs/9/cancel access-1",
        "POST /auth/logout access-1",
    ]
