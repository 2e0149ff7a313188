"""The rendered nginx configuration: for products, pictures served from the media directory with
long cache headers and larger bodies allowed on the upload route only; and, on a real nginx,
over-long request lines and headers, and URLs it cannot parse, answered as problem+json."""

from __future__ import annotations

import http.client
import re
import runpy
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from services.kit.testing import free_port
from stack import gateway
from stack.config import ROOT, StackConfig, parse_env_file
from stack.processes import service_environment

EXAMPLE = parse_env_file(ROOT / ".env.example")


@pytest.fixture
def cfg(tmp_path) -> StackConfig:
    return StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path), "OUTBOX_SECRET": "x"})


@pytest.fixture
def rendered(cfg, tmp_path, monkeypatch) -> str:
    """Only the text counts: no verify cache in /dev/shm, no nginx needed."""
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    monkeypatch.setattr(gateway, "worker_user", lambda cfg: "")
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


def test_products_writes_pictures_where_the_gateway_serves_them(cfg):
    environment = service_environment(cfg, "products", cfg.db_passwords())
    assert environment["MEDIA_DIR"] == str(cfg.media_dir)
    assert "MEDIA_DIR" not in service_environment(cfg, "clients", cfg.db_passwords())


def test_only_the_upload_route_accepts_image_max_bytes_and_it_still_asks_auth(cfg, rendered):
    limit = EXAMPLE["IMAGE_MAX_BYTES"]
    upload = location(rendered, r"~ ^/products/[0-9]+/images$")
    assert f"client_max_body_size {limit};" in upload
    assert "auth_request /_auth/verify;" in upload and "proxy_pass http://products;" in upload
    assert rendered.index(upload) < rendered.index("location ~ ^/(products|categories)(/|$)")
    assert re.findall(r"client_max_body_size (\S+);", rendered).count(limit) == 1
    # auth's subrequest carries the upload's Content-Length: it must not refuse it.
    assert "client_max_body_size 0;" in location(rendered, "= /_auth/verify")


@pytest.fixture
def nginx(cfg, rendered, tmp_path):
    """The rendered gateway, run by a real nginx on a free port (no service behind it)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed")
    port = free_port()
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.write_text(rendered.replace(f":{cfg.gateway_port};", f":{port};", 1))
    process = subprocess.Popen(
        [binary, "-e", "stderr", "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://{cfg.host}:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/health", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def assert_problem(response, status: int):
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["X-Request-ID"]


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
    assert int(size) * 1024 - 2 <= gunicorn["limit_request_field_size"]


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


@pytest.mark.parametrize(
    "path",
    ["/clients/%zz", "/media/%", "/media/../../etc/passwd", "/status/../../x"],
)
def test_a_url_the_gateway_cannot_parse_is_its_problem_json_400(nginx, path):
    response = raw_get(nginx, path)
    assert_problem(response, 400)
