"""The gateway as the cluster runs it, behind the ingress controller: the rendered nginx.conf on a
real nginx passes on the scheme the client used, the Ingress takes the bodies the gateway takes,
and only the ingress controller and the gateway's API clients reach its port."""

from __future__ import annotations

import re
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from deploy.kubernetes import manifests
from services.kit.testing import free_port, running_nginx
from services.registry import BY_NAME
from stack.config import ROOT, present_services

BASE = Path(manifests.__file__).parent / "base"
PRESENT = present_services()


def gateway_objects(kind: str) -> dict:
    import yaml

    return next(
        doc
        for doc in yaml.safe_load_all((BASE / "gateway.yaml").read_text())
        if doc and doc["kind"] == kind
    )


class Recorder(socketserver.ThreadingTCPServer):
    """An upstream that answers 200 and keeps the headers of each request (names lower-cased)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.seen: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", 0), self.Handler)

    def told(self, header: str) -> list[str | None]:
        return [headers.get(header) for headers in self.seen]

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.rfile.readline()
            headers = {}
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            self.server.seen.append(headers)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")


@pytest.fixture
def cluster_gateway(tmp_path):
    """base/gateway/nginx.conf on a real nginx, with this machine's paths, listening on a free
    port, and the monitoring dashboard's upstream (the public /status) on a Recorder."""
    recorder = Recorder()
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    run, port = tmp_path / "run", free_port()
    conf = (BASE / "gateway" / "nginx.conf").read_text()
    conf = conf.replace(manifests.RUN, str(run)).replace(f"{manifests.APP}/", f"{ROOT}/")
    conf = conf.replace(
        f"server monitoring:{BY_NAME['monitoring'].port}",
        f"server 127.0.0.1:{recorder.server_address[1]}",
    )
    conf = re.sub(r"server [a-z]+:(\d+)", r"server 127.0.0.1:\1", conf)
    conf = conf.replace(f"listen 0.0.0.0:{manifests.GATEWAY_PORT};", f"listen 127.0.0.1:{port};")
    (run / "nginx").mkdir(parents=True)
    (run / "verify-cache").mkdir(mode=0o777)
    (run / "nginx" / "nginx.conf").write_text(conf)
    script = manifests.CREDENTIAL_SCRIPT.replace(manifests.RUN, str(run))
    subprocess.run([sys.executable, "-c", script], check=True, env={"GATEWAY_SERVICE_KEY": "k"})
    options = ["-p", str(run / "nginx"), "-c", "nginx.conf"]
    with running_nginx(options, f"http://127.0.0.1:{port}") as base:
        yield base, recorder
        recorder.shutdown()
        recorder.server_close()


def test_behind_the_ingress_a_service_is_told_the_scheme_the_client_used(cluster_gateway):
    base, recorder = cluster_gateway
    # The ingress controller ends TLS and says so; the console then marks its cookie Secure.
    assert requests.get(f"{base}/status", headers={"X-Forwarded-Proto": "https"}, timeout=5).ok
    # Reached without a proxy (or one that says http), or told something else: the gateway's own.
    requests.get(f"{base}/status", timeout=5)
    requests.get(f"{base}/status", headers={"X-Forwarded-Proto": "http"}, timeout=5)
    requests.get(f"{base}/status", headers={"X-Forwarded-Proto": "gopher"}, timeout=5)

    assert recorder.told("x-forwarded-proto") == ["https", "http", "http", "http"]


def test_a_service_is_told_the_host_the_client_asked_for_with_its_port(cluster_gateway):
    base, recorder = cluster_gateway
    # A redirect a service makes (werkzeug's trailing slash) is built from it: without the port
    # it pointed at port 80 while the gateway listened on another.
    requests.get(f"{base}/status", timeout=5)
    requests.get(f"{base}/status", headers={"Host": "feira.example.com"}, timeout=5)

    assert recorder.told("host") == [base.removeprefix("http://"), "feira.example.com"]


def body_limits(conf: str) -> list[int]:
    return [
        manifests.size_in_bytes(size)
        for size in re.findall(r"client_max_body_size (\w+);", conf)
        if size != "0"  # the auth_request subrequest's, which sends no body
    ]


def test_the_ingress_takes_the_largest_body_the_gateway_takes():
    ingress = gateway_objects("Ingress")
    limits = body_limits((BASE / "gateway" / "nginx.conf").read_text())
    annotation = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]

    # ingress-nginx's own default is 1m: a 5 MiB picture would never reach the gateway.
    assert manifests.size_in_bytes(annotation) == max(limits)
    assert max(limits) == max(
        body.default for name in PRESENT for body in BY_NAME[name].large_bodies
    )


def test_only_the_ingress_controller_and_the_gateways_api_clients_reach_the_gateway():
    policy = gateway_objects("NetworkPolicy")
    [rule] = policy["spec"]["ingress"]
    through_gateway = {
        f"{s.name}-{w.name}"
        for s in BY_NAME.values()
        if s.name in PRESENT
        for w in s.workers
        if w.through_gateway
    } | {s.name for s in BY_NAME.values() if s.name in PRESENT and s.through_gateway}

    assert rule["ports"] == [{"protocol": "TCP", "port": manifests.GATEWAY_PORT}]
    assert rule["from"][0] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    }
    assert {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in rule["from"][1:]
    } == through_gateway
    assert through_gateway >= {"console", "monitoring-worker"}
