"""The rendered nginx configuration: for products, pictures served from the media directory with
long cache headers and larger bodies allowed on the upload route only; and, on a real nginx,
over-long request lines and headers, and URLs it cannot parse, answered as problem+json."""

from __future__ import annotations

import http.client
import json
import os
import re
import runpy
import shutil
import socketserver
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from services.kit.observability import REQUEST_ID_PATTERN
from services.kit.testing import free_port, running_nginx, truncate_all
from stack import gateway
from stack.config import ROOT, StackConfig, parse_env_file
from stack.keys import ensure_keypair
from stack.processes import service_command, service_environment

EXAMPLE = parse_env_file(ROOT / ".env.example")
AS_ROOT = os.geteuid() == 0


@pytest.fixture
def cfg(tmp_path) -> StackConfig:
    return StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path), "OUTBOX_SECRET": "x"})


@pytest.fixture
def rendered(cfg, tmp_path, monkeypatch) -> str:
    """Only the text counts: no verify cache in /dev/shm, no nginx needed."""
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    # As root, nginx's workers would be its default `nobody`, who cannot enter a checkout only
    # root can (a clone under `mktemp -d`): a missing /docs/assets/ file would be a 403 there.
    # They stay root, as `worker_user` keeps them in such a checkout.
    monkeypatch.setattr(gateway, "worker_user", lambda cfg: "root root" if AS_ROOT else "")
    return gateway.render(cfg).read_text()


def location(text: str, head: str) -> str:
    start = text.index(f"location {head} {{")
    return text[start : text.index("\n        }", start)]


def test_media_is_served_from_the_media_dir_to_anyone_with_year_long_cache_headers(cfg, rendered):
    media = location(rendered, "/media/")
    assert f"alias {cfg.media_dir}/;" in media
    assert cfg.media_dir == Path(cfg.run_dir) / "media"
    assert 'Cache-Control "public, max-age=31536000, immutable"' in media
    assert "auth_request" not in media and "deny all" in media


def test_the_callers_request_id_the_gateway_keeps_is_the_kits_pattern_written_there_only(rendered):
    start = rendered.index("map $http_x_request_id $trace_id {")
    trace_map = rendered[start : rendered.index("\n    }", start)].splitlines()[1:]
    assert [line.strip() for line in trace_map] == [
        f'"~{REQUEST_ID_PATTERN}" $http_x_request_id;',
        "default $request_id;",
    ]
    template = (ROOT / "gateway" / "templates" / "nginx.conf.j2").read_text()
    assert REQUEST_ID_PATTERN not in template and "{{ request_id_pattern }}" in template


def test_the_api_docs_page_may_not_be_framed_nor_sniffed(rendered):
    docs = location(rendered, "= /docs")
    assert "add_header X-Content-Type-Options nosniff always;" in docs
    assert "add_header X-Frame-Options DENY always;" in docs
    assert """add_header Content-Security-Policy "frame-ancestors 'none'" always;""" in docs


def test_products_writes_pictures_where_the_gateway_serves_them(cfg):
    environment = service_environment(cfg, "products", cfg.db_passwords())
    assert environment["MEDIA_DIR"] == str(cfg.media_dir)
    assert "MEDIA_DIR" not in service_environment(cfg, "clients", cfg.db_passwords())


def test_only_the_picture_routes_accept_image_max_bytes_and_the_apis_still_asks_auth(cfg, rendered):
    limit = EXAMPLE["IMAGE_MAX_BYTES"]
    upload = location(rendered, r"~ ^/products/[0-9]+/images$")
    assert f"client_max_body_size {limit};" in upload
    assert "auth_request /_auth/verify;" in upload and "proxy_pass http://products;" in upload
    assert rendered.index(upload) < rendered.index("location ~ ^/(products|categories)(/|$)")
    # Nowhere else but the registry's other picture route (the console's forms, no auth_request:
    # the console signs its users in itself).
    assert re.findall(r"client_max_body_size (\S+);", rendered).count(limit) == 2
    console = location(rendered, r"~ ^/console/products/(new|[0-9]+/images)$")
    assert f"client_max_body_size {limit};" in console and "auth_request" not in console
    # auth's subrequest carries the upload's Content-Length: it must not refuse it.
    assert "client_max_body_size 0;" in location(rendered, "= /_auth/verify")


@pytest.fixture
def nginx(cfg, rendered, tmp_path):
    """The rendered gateway, run by a real nginx on a free port (no service behind it)."""
    port = free_port()
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.write_text(rendered.replace(f":{cfg.gateway_port};", f":{port};", 1))
    yield from serve(cfg, conf, port)


def serve(cfg: StackConfig, conf: Path, port: int, stdout=subprocess.DEVNULL):
    """Run nginx on `conf` until the generator is closed; yields its base URL."""
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    with running_nginx(["-c", str(conf)], f"http://{cfg.host}:{port}", stdout) as base:
        yield base


def assert_problem(response, status: int):
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["X-Request-ID"]


def test_the_access_log_goes_to_nginx_output_for_supervisord_to_rotate_not_to_a_file(
    cfg, rendered, tmp_path
):
    port = free_port()
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.write_text(rendered.replace(f":{cfg.gateway_port};", f":{port};", 1))
    output = tmp_path / "nginx-output"
    with output.open("w") as out:
        served = serve(cfg, conf, port, stdout=out)
        base = next(served)
        requests.get(f"{base}/health?cpf=52998224725", timeout=5)
        served.close()
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert {"method": "GET", "path": "/health", "status": 200}.items() <= lines[-1].items()
    assert "52998224725" not in output.read_text()
    assert list(cfg.logs_dir.iterdir()) == []


def test_an_over_long_request_line_is_the_gateways_problem_json_414(nginx):
    response = requests.get(f"{nginx}/status/api/incidents?target={'x' * 9000}", timeout=5)
    assert_problem(response, 414)


def test_an_over_long_header_is_the_gateways_problem_json_431(nginx):
    response = requests.get(f"{nginx}/auth/users", headers={"X-Long": "x" * 9000}, timeout=5)
    assert_problem(response, 431)


def test_a_request_line_the_gateway_accepts_is_one_gunicorn_accepts(rendered, monkeypatch):
    monkeypatch.setenv("PORT", "5000")
    gunicorn = runpy.run_path(str(ROOT / "stack" / "gunicorn.conf.py"))
    size = re.search(r"large_client_header_buffers \d+ (\d+)k;", rendered).group(1)
    # nginx's line, without its CRLF, fits one buffer; gunicorn counts it without the CRLF.
    assert int(size) * 1024 - 2 <= gunicorn["limit_request_line"] == 8190


def test_the_headers_the_gateway_accepts_are_ones_gunicorn_accepts(rendered, monkeypatch):
    monkeypatch.setenv("PORT", "5000")
    gunicorn = runpy.run_path(str(ROOT / "stack" / "gunicorn.conf.py"))
    count, size = re.search(r"large_client_header_buffers (\d+) (\d+)k;", rendered).groups()
    # The smallest header nginx takes, "a:\r\n", is 4 bytes: the buffers hold this many.
    assert int(count) * int(size) * 1024 // 4 <= gunicorn["limit_request_fields"]
    # A header line fits one buffer with its CRLF, and gunicorn counts the CRLF too.
    assert int(size) * 1024 <= gunicorn["limit_request_field_size"] <= 16384


def raw_get(base: str, path: str) -> requests.Response:
    """GET `path` exactly as written (no client normalises `..` or re-escapes `%`)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        response = requests.Response()
        response.status_code = answer.status
        response.headers.update(answer.getheaders())
        response._content = answer.read()
        return response
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT", "FOO", "TRACE"])
def test_the_gateways_health_answers_get_and_head_only_and_its_405_says_so(nginx, method):
    assert requests.get(f"{nginx}/health", timeout=5).status_code == 200
    assert requests.head(f"{nginx}/health", timeout=5).status_code == 200

    response = requests.request(method, f"{nginx}/health", timeout=5)

    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/docs"), ("POST", "/docs/assets/swagger-ui.css")]
)
def test_a_405_for_the_gateways_own_pages_says_which_methods_they_allow(nginx, method, path):
    response = requests.request(method, f"{nginx}{path}", timeout=5)

    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"


def gateway_before(tmp_path, monkeypatch, stdout=subprocess.DEVNULL, **stand_ins):
    """The rendered gateway on a real nginx, every service's port closed but those given a
    stand-in here (a socketserver handler by port key: `AUTH_PORT=Handler`), its output (the
    access lines) to `stdout`; yields its base URL."""
    ports = {f"{name.upper()}_PORT": str(free_port()) for name in gateway.BY_NAME}
    ports["FEIRA_GATEWAY_PORT"] = str(free_port())
    cfg = StackConfig(
        {**EXAMPLE, **ports, "FEIRA_RUN_DIR": str(tmp_path / "run"), "OUTBOX_SECRET": "x"}
    )
    servers = [
        socketserver.ThreadingTCPServer((cfg.host, int(ports[key])), handler)
        for key, handler in stand_ins.items()
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    # As root, the workers must be able to write the verify cache, or the subrequest fails.
    monkeypatch.setattr(
        gateway, "worker_user", lambda cfg: "root root" if os.geteuid() == 0 else ""
    )
    try:
        yield from serve(cfg, gateway.render(cfg), cfg.gateway_port, stdout)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def gateway_alone(tmp_path, monkeypatch):
    """The gateway with no service running."""
    yield from gateway_before(tmp_path, monkeypatch)


def test_with_auth_down_a_protected_route_is_the_503_problem_with_retry_after(gateway_alone):
    [unavailable] = [p for p in gateway.PROBLEMS if p[0] == 503]
    for headers in ({"Authorization": "Bearer x.y.z"}, {}):
        response = requests.get(f"{gateway_alone}/clients", headers=headers, timeout=5)

        assert_problem(response, 503)
        assert response.json()["detail"] == "The auth service is unavailable"
        assert response.headers["Retry-After"] == unavailable[4]["Retry-After"]


@pytest.mark.parametrize(
    "path",
    ["/clients/%zz", "/media/%", "/media/../../etc/passwd", "/status/../../x"],
)
def test_a_url_the_gateway_cannot_parse_is_its_problem_json_400(nginx, path):
    response = raw_get(nginx, path)
    assert_problem(response, 400)


# A path nginx decodes into a quote, a backslash, a control character or a byte that is no
# UTF-8; and one that would close the detail and add members of its own.
UNQUOTABLE_PATHS = [
    "/x%22y",
    "/x%5Cy",
    "/x%0Ay",
    "/x%FF",
    "/x%22,%22status%22:200,%22a%22:%22",
    # An internal route, and what the gateway serves itself (a directory under /media/, a missing
    # asset).
    "/auth/verify%22",
    "/media/x%22/",
    "/docs/assets/x%5C.css",
]


@pytest.mark.parametrize("path", UNQUOTABLE_PATHS)
def test_a_404_is_valid_json_whatever_the_path_decodes_to_and_the_path_adds_nothing(nginx, path):
    response = raw_get(nginx, path)

    assert response.status_code == 404
    problem = json.loads(response.content)
    assert set(problem) == {"type", "title", "status", "detail", "request_id"}
    assert problem["status"] == 404 and problem["detail"] == "No route for this path"


def test_a_404_names_a_path_of_plain_url_characters_as_it_was_asked(nginx):
    path = "/x/a.b_c~d!$&'()*+,;=:@-%25"
    response = raw_get(nginx, path)

    assert_problem(response, 404)
    assert response.json()["detail"] == "No route for /x/a.b_c~d!$&'()*+,;=:@-%"


@pytest.fixture
def auth_gateway(database, tmp_path, monkeypatch):
    """The real auth service under gunicorn (two workers) on the test database, and behind it the
    rendered gateway on a real nginx. No other service runs: their routes answer 503 once auth
    has let a request through, 401 when it has not."""
    from services.auth import create_app
    from services.auth.accounts import register
    from services.kit.testing import build_app

    ports = {key: str(free_port()) for key in ("FEIRA_GATEWAY_PORT", "AUTH_PORT", "CLIENTS_PORT")}
    cfg = StackConfig(
        {**EXAMPLE, **ports, "FEIRA_RUN_DIR": str(tmp_path / "run"), "OUTBOX_SECRET": "x"}
    )
    ensure_keypair(cfg.private_key_path, cfg.public_key_path)
    keys = {
        "JWT_PUBLIC_KEY": cfg.public_key_path.read_text(),
        "JWT_PRIVATE_KEY": cfg.private_key_path.read_text(),
    }
    app = build_app(create_app, "auth", database, keys)
    with app.app_context():
        for n in range(TRIALS):
            register(f"trial{n}@example.com", PASSWORD, f"Trial {n}")
    (cfg.run_dir / "metrics" / "auth").mkdir(parents=True)
    environment = {
        **os.environ,
        **service_environment(cfg, "auth", cfg.db_passwords()),
        "DATABASE_URL": database.url("auth"),
        "GUNICORN_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }
    auth = subprocess.Popen(
        service_command("auth"), cwd=ROOT, env=environment, stderr=subprocess.DEVNULL
    )
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    # As root, the workers must be able to write the verify cache, or nothing is cached.
    monkeypatch.setattr(
        gateway, "worker_user", lambda cfg: "root root" if os.geteuid() == 0 else ""
    )
    conf = gateway.render(cfg)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{cfg.service_url('auth')}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert auth.poll() is None and time.monotonic() < deadline, "auth did not start"
            time.sleep(0.1)
        yield from serve(cfg, conf, cfg.gateway_port)
    finally:
        auth.terminate()
        auth.wait(timeout=20)
        with app.app_context():
            truncate_all(app)


TRIALS = 10
PASSWORD = "s3nha-forte"


@pytest.mark.parametrize("character", ["\x01", "\x1f", "\x7f"])
def test_a_control_character_in_a_header_is_the_gateways_400_problem(auth_gateway, character):
    # Public (straight to auth's gunicorn), and behind auth_request (in what verify is sent).
    public = requests.get(
        f"{auth_gateway}/auth/.well-known/jwks.json",
        headers={"X-Note": f"a{character}b"},
        timeout=5,
    )
    protected = requests.get(
        f"{auth_gateway}/clients", headers={"Authorization": f"Bearer a{character}b"}, timeout=5
    )

    for response in (public, protected):
        assert_problem(response, 400)
        assert response.json()["detail"] == "The request could not be parsed"


def test_a_services_own_400_problem_passes_the_gateway_as_it_is(auth_gateway):
    response = requests.post(
        f"{auth_gateway}/auth/login",
        data=b"not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )

    assert_problem(response, 400)
    assert response.json()["detail"] != "The request could not be parsed"


def test_the_longest_header_line_the_gateway_accepts_reaches_the_service(auth_gateway):
    limits = (ROOT / "gateway" / "templates" / "limits.conf.j2").read_text()
    size = int(re.search(r"large_client_header_buffers \d+ (\d+)k;", limits).group(1)) * 1024
    # "X-Big: " and the value, with the CRLF, fill one buffer; one byte more is nginx's 431.
    value = "a" * (size - len("X-Big: ") - len("\r\n"))
    url = f"{auth_gateway}/auth/.well-known/jwks.json"

    assert requests.get(url, headers={"X-Big": value}, timeout=5).status_code == 200
    assert_problem(requests.get(url, headers={"X-Big": value + "a"}, timeout=5), 431)


def test_the_gateways_401_tells_a_refused_token_from_none_as_auth_does(auth_gateway):
    # auth_request hands auth's challenge on: RFC 6750 §3's error only when a token was sent.
    pair = requests.post(
        f"{auth_gateway}/auth/login",
        json={"email": "trial0@example.com", "password": PASSWORD},
        timeout=30,
    ).json()
    refused = {
        "a refresh token": {"Authorization": f"Bearer {pair['refresh_token']}"},
        "malformed": {"Authorization": "Bearer x.y.z"},
        "no token": {},
        "another scheme": {"Authorization": "Basic YW5hOnNlbmhh"},
    }
    challenges = {}
    for reason, headers in refused.items():
        response = requests.get(f"{auth_gateway}/clients", headers=headers, timeout=5)
        assert_problem(response, 401)
        challenges[reason] = response.headers.get("WWW-Authenticate")

    invalid, bare = 'Bearer realm="feira", error="invalid_token"', 'Bearer realm="feira"'
    assert challenges == {
        "a refresh token": invalid,
        "malformed": invalid,
        "no token": bare,
        "another scheme": bare,
    }


def sign_in(base: str, n: int) -> dict[str, str]:
    response = requests.post(
        f"{base}/auth/login",
        json={"email": f"trial{n}@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def seconds_until_the_gateway_refuses_after_logout(base: str, n: int, headers: dict) -> float:
    """Let the gateway cache the token at `n` tenths after a whole second (a token cached just
    after one lives longest), log out, and time until a route behind auth answers 401."""
    now = time.time()
    time.sleep((1 - now % 1) + n / TRIALS)
    # Verified and cached; clients is not running, so the gateway's answer is then a 503.
    assert requests.get(f"{base}/clients/1", headers=headers, timeout=5).status_code == 503
    assert requests.post(f"{base}/auth/logout", headers=headers, timeout=5).status_code == 204
    logged_out = time.monotonic()
    while time.monotonic() - logged_out < 10:
        # When the request left: the gateway refused it no earlier (loopback adds well under 1 ms).
        asked = time.monotonic()
        if requests.get(f"{base}/clients/1", headers=headers, timeout=5).status_code == 401:
            return asked - logged_out
        time.sleep(0.01)
    return float("inf")


def test_a_logout_reaches_the_gateway_within_five_seconds(auth_gateway):
    base = auth_gateway
    # Signed in first, one after the other: password hashing is slow on purpose.
    signed_in = [sign_in(base, n) for n in range(TRIALS)]
    with ThreadPoolExecutor(TRIALS) as pool:
        trials = [
            pool.submit(seconds_until_the_gateway_refuses_after_logout, base, n, headers)
            for n, headers in enumerate(signed_in)
        ]
        delays = [trial.result() for trial in trials]

    print("seconds from logout to the gateway's 401:", sorted(delays))
    assert max(delays) <= 5.0, sorted(delays)
    # The verify answer is cached (the point of the cache): the gateway did not ask auth each time.
    assert max(delays) > 3.0, sorted(delays)


class DiesOnItsFirstRequest(socketserver.ThreadingTCPServer):
    """A service whose first request finds its worker dead (the connection closes unanswered, as
    when a gunicorn worker is SIGKILLed mid-request); every later one is answered 200."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            request_line = self.rfile.readline().decode()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            self.server.requests.append(request_line.split()[0])
            if len(self.server.requests) > 1:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


@pytest.fixture
def dying_service(tmp_path, monkeypatch):
    """The gateway with clients' upstream on DiesOnItsFirstRequest (reached at /health/clients)."""
    server = DiesOnItsFirstRequest()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = free_port()
    cfg = StackConfig(
        {
            **EXAMPLE,
            "FEIRA_GATEWAY_PORT": str(port),
            "CLIENTS_PORT": str(server.server_address[1]),
            "FEIRA_RUN_DIR": str(tmp_path),
            "OUTBOX_SECRET": "x",
        }
    )
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "worker_user", lambda cfg: "")
    try:
        for base in serve(cfg, gateway.render(cfg), port):
            yield SimpleNamespace(base=base, requests=server.requests)
    finally:
        server.shutdown()
        server.server_close()


def test_a_get_whose_service_worker_dies_is_retried_and_answered(dying_service):
    response = requests.get(f"{dying_service.base}/health/clients", timeout=10)

    assert response.status_code == 200
    assert dying_service.requests == ["GET", "GET"]


def test_a_post_whose_service_worker_dies_is_never_sent_twice(dying_service):
    response = requests.post(f"{dying_service.base}/health/clients", json={}, timeout=10)

    assert_problem(response, 503)
    assert dying_service.requests == ["POST"]


@pytest.fixture
def payments_gateway(tmp_path, monkeypatch):
    """The gateway with a stand-in for payments that records the paths it is sent (auth is not
    running: nothing behind auth_request passes)."""
    reached: list[str] = []

    class Payments(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline().decode()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            reached.append(line.split()[1])
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    for base in gateway_before(tmp_path, monkeypatch, PAYMENTS_PORT=Payments):
        yield SimpleNamespace(base=base, reached=reached)


@pytest.fixture
def clients_gateway(tmp_path, monkeypatch):
    """The gateway with a stand-in for clients that records each request's line and headers
    and answers as Flask's routing does a method no route takes: a 405 naming its methods."""
    asked: list[tuple[str, dict[str, str]]] = []

    class Clients(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline().decode().strip()
            headers = {}
            while (header := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            asked.append((line, headers))
            body = b'{"type":"x","title":"Method Not Allowed","status":405,"detail":"d"}'
            self.wfile.write(
                b"HTTP/1.1 405 METHOD NOT ALLOWED\r\nAllow: GET, HEAD, PUT\r\n"
                b"Content-Type: application/problem+json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    output = tmp_path / "nginx-output"
    with output.open("w") as out:
        served = gateway_before(tmp_path, monkeypatch, stdout=out, CLIENTS_PORT=Clients)

        def access_lines() -> list[dict]:
            """Stop the gateway (it writes out its buffered log) and read its access lines."""
            served.close()
            return [json.loads(line) for line in output.read_text().splitlines()]

        try:
            yield SimpleNamespace(base=next(served), asked=asked, access_lines=access_lines)
        finally:
            served.close()


def test_trace_on_a_services_path_is_the_services_405_naming_its_methods(clients_gateway):
    """nginx refuses TRACE before it routes: its own 405 could not name a service path's
    methods (Allow). The service's routing does, sent TRACE alone: no body, no credential."""
    response = requests.request(
        "TRACE",
        f"{clients_gateway.base}/clients/7?x=1",
        data=b"secret",
        headers={"Authorization": "Bearer x.y.z", "Cookie": "a=b"},
        timeout=5,
    )

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, PUT"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    [(line, headers)] = clients_gateway.asked
    assert line == "TRACE /clients/7?x=1 HTTP/1.1"
    assert not {"authorization", "cookie", "content-length"} & set(headers)
    assert headers["x-request-id"] == response.headers["X-Request-ID"]


def test_a_burst_of_traces_is_the_429_problem_and_the_services_other_routes_are_not_throttled(
    clients_gateway,
):
    """A TRACE is a request the service routes, asked by anyone: a few a second per address pass
    (zone `trace`: 2 a second, a burst of 5), the rest are the gateway's 429 and never reach it."""
    base = clients_gateway.base
    answers = [requests.request("TRACE", f"{base}/clients/7", timeout=5) for _ in range(12)]

    statuses = [answer.status_code for answer in answers]
    assert statuses[0] == 405 and 429 in statuses, statuses
    throttled = next(answer for answer in answers if answer.status_code == 429)
    assert_problem(throttled, 429)
    assert throttled.headers["Retry-After"] == "1"
    assert len(clients_gateway.asked) == statuses.count(405) < len(answers)
    # The service's own routes do not count TRACEs: a GET reaches it (auth is down here: the
    # 503 problem, not a 429).
    assert_problem(requests.get(f"{base}/clients/7", timeout=5), 503)


def test_the_access_log_names_the_path_asked_without_its_query_not_an_internal_one(
    clients_gateway,
):
    """A TRACE goes to /_trace/clients, a URL nginx cannot parse to /_problem/400: the access
    line still names the path the caller asked, as sent, and never its query (a CPF, a phone)."""
    base = clients_gateway.base
    requests.request("TRACE", f"{base}/clients/7?cpf=52998224725", timeout=5)
    raw_get(base, "/clients/%zz?phone=5511987654321")
    requests.get(f"{base}/nowhere?cpf=52998224725", timeout=5)

    # (The first lines are the readiness checks of /health.)
    lines = [line for line in clients_gateway.access_lines() if line["path"] != "/health"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("TRACE", "/clients/7", 405),
        ("GET", "/clients/%zz", 400),
        ("GET", "/nowhere", 404),
    ]
    assert not {"52998224725", "5511987654321"} & {
        str(value) for line in lines for value in line.values()
    }


@pytest.mark.parametrize("path", ["/nowhere", "/auth/verify", "/inventory/reservations/1"])
def test_trace_where_no_route_is_public_is_the_404_problem(clients_gateway, path):
    response = requests.request("TRACE", f"{clients_gateway.base}{path}", timeout=5)

    assert_problem(response, 404)
    assert clients_gateway.asked == []


def test_trace_on_a_service_that_is_down_is_the_503_problem(gateway_alone):
    response = requests.request("TRACE", f"{gateway_alone}/orders/1", timeout=5)

    assert_problem(response, 503)


@pytest.mark.parametrize("path", ["/health/clients", "/media/products/1/x.jpg"])
def test_trace_on_a_path_the_gateway_serves_is_its_405_naming_get_and_head(gateway_alone, path):
    response = requests.request("TRACE", f"{gateway_alone}{path}", timeout=5)

    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"


def test_payments_webhooks_reach_payments_without_a_token_and_the_rest_of_payments_does_not(
    payments_gateway,
):
    base, reached = payments_gateway.base, payments_gateway.reached
    webhook = requests.post(
        f"{base}/payments/webhooks/stripe",
        data=b"{}",
        headers={"Stripe-Signature": "t=1"},
        timeout=5,
    )
    assert webhook.status_code == 200 and reached == ["/payments/webhooks/stripe"]
    for path in ("/payments", "/payments/1", "/payments/webhooks", "/payments/1/refund"):
        # (nginx answers /payments/webhooks with a redirect into the public sub-path.)
        response = requests.post(f"{base}{path}", json={}, timeout=5, allow_redirects=False)
        assert response.status_code != 200, path
    assert reached == ["/payments/webhooks/stripe"]


def test_a_callers_request_id_the_services_accept_is_kept_end_to_end_and_any_other_replaced(
    tmp_path, monkeypatch
):
    """The one id a caller sent (the services' own pattern, the kit's REQUEST_ID_PATTERN) is what
    the service is sent, what the caller gets back, in the problem's body and in the access line;
    any other is replaced by the gateway's own, everywhere alike."""
    sent: list[str | None] = []

    class Payments(socketserver.StreamRequestHandler):
        def handle(self):
            self.rfile.readline()
            headers = {}
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            sent.append(headers.get("x-request-id"))
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    kept = "walk.Gcheck_1796620056-x"
    refused = ["short", 'a"quote</p>ending', "x" * 65, "dot.dot spaced", None]
    # The services' pattern, which the gateway's map is rendered from, keeps the one only.
    assert re.match(REQUEST_ID_PATTERN, kept)
    assert not any(re.match(REQUEST_ID_PATTERN, caller_id) for caller_id in refused if caller_id)
    output = tmp_path / "nginx-output"
    with output.open("w") as out:
        served = gateway_before(tmp_path, monkeypatch, stdout=out, PAYMENTS_PORT=Payments)
        base = next(served)
        answered = []
        for caller_id in [kept, *refused]:
            response = requests.post(
                f"{base}/payments/webhooks/stripe",
                data=b"{}",
                headers={"X-Request-ID": caller_id} if caller_id else {},
                timeout=5,
            )
            assert response.status_code == 200
            answered.append(response.headers["X-Request-ID"])
        problem = requests.get(f"{base}/nowhere", headers={"X-Request-ID": kept}, timeout=5)
        served.close()

    assert answered[0] == kept and sent == answered
    for caller_id, own in zip(refused, answered[1:], strict=True):
        assert own != caller_id and re.fullmatch(r"[0-9a-f]{32}", own)
    assert_problem(problem, 404)
    assert problem.headers["X-Request-ID"] == problem.json()["request_id"] == kept
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    logged = [line["request_id"] for line in lines if line["path"] == "/payments/webhooks/stripe"]
    assert logged == answered
    assert [line["request_id"] for line in lines if line["path"] == "/nowhere"] == [kept]


@pytest.fixture
def auth_stand_in(tmp_path, monkeypatch):
    """The gateway with a stand-in for auth that refuses every token and records the headers of
    each verify it is asked (names lower-cased)."""
    asked: list[dict[str, str]] = []

    class Auth(socketserver.StreamRequestHandler):
        def handle(self):
            self.rfile.readline()
            headers = {}
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            asked.append(headers)
            self.wfile.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")

    for base in gateway_before(tmp_path, monkeypatch, AUTH_PORT=Auth):
        yield SimpleNamespace(base=base, asked=asked)


def test_auth_is_told_the_callers_address_and_none_of_the_headers_a_caller_could_forge(
    auth_stand_in,
):
    forged = {
        "X-Real-IP": "203.0.113.77",
        "X-Forwarded-For": "203.0.113.77",
        "X-Auth-Assertion": "forged",
        "X-User-Id": "1",
        "X-User-Role": "admin",
        "X-User-Email": "admin@feira.local",
        "X-Service-Credential": "forged",
    }
    response = requests.get(
        f"{auth_stand_in.base}/clients?per_page=1",
        headers={"Authorization": "Bearer bad.x", "X-Request-ID": "trace.0001", **forged},
        timeout=5,
    )

    assert_problem(response, 401)
    [verify] = auth_stand_in.asked
    # The caller's request id is one auth logs its verify under too.
    assert verify["x-request-id"] == response.headers["X-Request-ID"] == "trace.0001"
    assert verify["x-real-ip"] == verify["x-forwarded-for"] == "127.0.0.1"
    assert verify["authorization"] == "Bearer bad.x"
    assert verify["x-service-credential"] not in ("", "forged")
    assert not {"x-auth-assertion", "x-user-id", "x-user-role", "x-user-email"} & set(verify)


@pytest.fixture
def auth_saying(request, tmp_path, monkeypatch):
    """The gateway with a stand-in for auth that refuses every token with the X-Auth-Error header
    given as the fixture's parameter (bytes, as sent)."""

    class Auth(socketserver.StreamRequestHandler):
        def handle(self):
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            self.wfile.write(
                b"HTTP/1.1 401 Unauthorized\r\nX-Auth-Error: "
                + request.param
                + b"\r\nContent-Length: 0\r\n\r\n"
            )

    yield from gateway_before(tmp_path, monkeypatch, AUTH_PORT=Auth)


@pytest.mark.parametrize(
    ("auth_saying", "detail"),
    [
        (b"The bearer token has expired", "The bearer token has expired"),
        (
            b"The bearer token's session (1); revoked: yes, by an admin",
            "The bearer token's session (1); revoked: yes, by an admin",
        ),
        (b'a","status":200,"b":"', "A valid bearer token is required"),
        (b"a\\b", "A valid bearer token is required"),
        (b"a\tb", "A valid bearer token is required"),
        (b"caf\xff", "A valid bearer token is required"),
    ],
    indirect=["auth_saying"],
)
def test_auths_detail_is_the_401s_only_when_it_cannot_break_the_json_it_goes_in(
    auth_saying, detail
):
    response = requests.get(
        f"{auth_saying}/clients", headers={"Authorization": "Bearer x.y.z"}, timeout=5
    )

    assert response.status_code == 401
    problem = json.loads(response.content)
    assert set(problem) == {"type", "title", "status", "detail", "request_id"}
    assert problem["status"] == 401 and problem["detail"] == detail


def test_nginx_reads_the_rendered_gateway_without_a_warning(cfg, rendered, tmp_path):
    """Every warning nginx has while reading its configuration is a line of its own, not JSON,
    in gateway.log at each start (a `charset_types text/html` was one: nginx always has it)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed")
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.write_text(rendered)
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    checked = subprocess.run(
        [binary, "-t", "-q", "-c", str(conf), "-e", "stderr"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""
