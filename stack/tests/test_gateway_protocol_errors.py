"""What nginx refuses while it reads a request (an HTTP version it does not speak, a
Transfer-Encoding it does not read) is the gateway's problem+json too, never its HTML page."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from stack import gateway

# The real nginx on the rendered configuration, as test_gateway runs it.
from .test_gateway import cfg, nginx, rendered  # noqa: F401


def send_raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=5) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /health HTTP/2.0\r\nHost: feira\r\n\r\n", 505),
        (b"POST /auth/login HTTP/1.1\r\nHost: feira\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ],
)
def test_a_request_nginx_cannot_read_is_its_problem_json(nginx, request_bytes, status):  # noqa: F811
    answered, headers, body = send_raw(nginx, request_bytes)
    assert answered == status
    assert headers["content-type"].startswith("application/problem+json")
    problem = json.loads(body)
    assert problem["status"] == status and problem["request_id"] == headers["x-request-id"]


def test_no_problem_detail_can_break_the_quoted_nginx_string_it_is_rendered_into():
    assert [p for p in gateway.PROBLEMS if "'" in "".join(map(str, p[:4]))] == []
