"""Renders the nginx configuration and the /docs page from gateway/templates and the environment."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.kit.observability import REQUEST_ID_PATTERN
from services.kit.private import private_dir
from services.registry import BY_NAME

from .config import ROOT, StackConfig
from .postgres import reachable_by

# The path prefixes each service answers under, behind auth_request (from the registry).
PREFIXES = {name: service.prefixes for name, service in BY_NAME.items() if service.prefixes}
# Routes that take larger bodies than FEIRA_MAX_BODY: (service, path regex, the setting that
# holds the limit in bytes, its default). The service enforces the same setting itself.
LARGE_BODIES = [
    (name, body.pattern, body.setting, str(body.default))
    for name, service in BY_NAME.items()
    for body in service.large_bodies
]

PROBLEMS = [
    (400, "bad-request", "Bad Request", "The request could not be parsed", {}),
    # auth_request already copies auth's WWW-Authenticate header onto the 401.
    (401, "unauthorized", "Unauthorized", "$auth_detail", {}),
    (403, "forbidden", "Forbidden", "The token does not allow this", {}),
    (404, "not-found", "Not Found", "No route for $safe_uri", {}),
    # The methods of what the gateway serves itself ($gateway_allows, nginx.conf.j2); a service's
    # routes are the service's to answer, and an empty value sends no header. The method cannot
    # break the JSON: nginx refuses one of anything but A-Z, _ and - (a 400).
    (
        405,
        "method-not-allowed",
        "Method Not Allowed",
        "$request_method is not allowed here",
        {"Allow": "$gateway_allows"},
    ),
    (413, "payload-too-large", "Payload Too Large", "The request body is too large", {}),
    (414, "uri-too-long", "URI Too Long", "The request line (the URL) is too long", {}),
    (
        429,
        "too-many-requests",
        "Too Many Requests",
        "Too many requests; slow down",
        {"Retry-After": "1"},
    ),
    (
        431,
        "request-header-fields-too-large",
        "Request Header Fields Too Large",
        "A request header, or all of them together, is too large",
        {},
    ),
    (500, "internal-error", "Internal Server Error", "The gateway failed", {}),
    (
        501,
        "not-implemented",
        "Not Implemented",
        "The gateway does not read this Transfer-Encoding",
        {},
    ),
    (
        503,
        "service-unavailable",
        "Service Unavailable",
        "The service is unavailable; try again shortly",
        {"Retry-After": "5"},
    ),
    (504, "gateway-timeout", "Gateway Timeout", "The upstream service did not answer in time", {}),
    (505, "http-version-not-supported", "HTTP Version Not Supported", "Use HTTP/1.1", {}),
]


def verify_cache_dir(cfg: StackConfig) -> Path:
    """tmpfs, so a verify answer (keyed by token) never touches a persistent disk."""
    shm = Path("/dev/shm")  # noqa: S108 (a private, mode-700 directory on tmpfs)
    tag = hashlib.sha256(str(cfg.run_dir).encode()).hexdigest()[:12]
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else cfg.run_dir
    return base / f"feira-verify-{tag}"


def worker_user(cfg: StackConfig) -> str:
    """As root, nginx's workers drop to `nobody`, which must reach the files they serve; in a
    checkout only root can enter, they stay root (and we say so)."""
    if os.geteuid() != 0:
        return ""
    if reachable_by("nobody", ROOT / "gateway" / "swagger-ui") and reachable_by(
        "nobody", cfg.run_dir
    ):
        return "nobody nogroup"
    print(f"==> warning: nobody cannot reach {ROOT}; nginx workers will run as root")
    return "root root"


def render(
    cfg: StackConfig,
    *,
    listen_host: str | None = None,
    upstream_hosts: dict[str, str] | None = None,
) -> Path:
    """Write nginx.conf and the /docs page. nginx listens on `listen_host` and reaches a service at
    `upstream_hosts[name]`, both `cfg.host` unless given (docker-compose gives 0.0.0.0 and the
    compose service names)."""
    out = cfg.run_dir / "nginx"
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    cache_dir = verify_cache_dir(cfg)
    run_as = worker_user(cfg)
    workers = pwd.getpwnam(run_as.split()[0]) if run_as else None
    private_dir(
        cache_dir,
        (workers.pw_uid, workers.pw_gid) if workers else None,
        holds="only the gateway's verify cache",
    )

    templates = Environment(  # noqa: S701 (renders nginx config and a fixed page, not user input)
        loader=FileSystemLoader(ROOT / "gateway" / "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    hosts = upstream_hosts or {}
    services = [
        {
            "name": name,
            "address": f"{hosts.get(name, cfg.host)}:{cfg.port(name)}",
            # Every copy (SCALE): the upstream lists them all, so a copy that is down costs an
            # idempotent request nothing, nor any request it never took.
            "addresses": [f"{hosts.get(name, cfg.host)}:{port}" for port in cfg.ports(name)],
            # Behind auth_request; empty for a service that has public prefixes only.
            "prefixes": "|".join(PREFIXES.get(name, ())),
            "public": BY_NAME[name].public,
            "document": BY_NAME[name].document,
            "password_forms": BY_NAME[name].password_forms,
            "pages_for_people": BY_NAME[name].pages_for_people,
            # Only other services call these, directly: through the gateway they do not exist.
            "internal": [route.prefix for route in BY_NAME[name].internal],
            "large_bodies": [
                {"pattern": pattern, "max_body": cfg.get(setting, default)}
                for service, pattern, setting, default in LARGE_BODIES
                if service == name
            ],
        }
        for name in cfg.services
    ]
    problems = [
        {"status": s, "slug": slug, "title": title, "detail": detail, "headers": headers}
        for s, slug, title, detail, headers in PROBLEMS
    ]
    context = {
        "run": out,
        "host": listen_host or cfg.host,
        "port": cfg.gateway_port,
        "run_as": run_as,
        "workers": cfg.get("FEIRA_GATEWAY_WORKERS", "1"),
        "mime_types": _mime_types(),
        "max_body": cfg.get("FEIRA_MAX_BODY", "1m"),
        "login_rate": cfg.get("FEIRA_LOGIN_RATE", "10r/s"),
        "login_burst": cfg.get("FEIRA_LOGIN_BURST", "20"),
        "verify_cache_seconds": min(5, int(cfg.get("FEIRA_VERIFY_CACHE_SECONDS", "5"))),
        "verify_cache_dir": cache_dir,
        "services": services,
        # A failed idempotent request is tried on the next entry, up to once per copy (two
        # entries of the one address when SCALE is 1).
        "next_upstream_tries": max(2, cfg.scale),
        "problems": problems,
        "problem_base": cfg.get("PROBLEM_TYPE_BASE", "https://feira.dev/problems/"),
        "swagger_ui": ROOT / "gateway" / "swagger-ui",
        "media_dir": cfg.media_dir,
        "gateway_credential": cfg.gateway_credential(),
        # The caller's X-Request-ID nginx keeps: the one the services keep (a `"`-quoted regex).
        "request_id_pattern": REQUEST_ID_PATTERN,
    }
    conf = out / "nginx.conf"
    conf.touch(mode=0o600)
    # It holds the gateway's credential: readable by nginx's master alone.
    conf.chmod(0o600)
    conf.write_text(templates.get_template("nginx.conf.j2").render(**context))
    (out / "docs" / "index.html").write_text(
        templates.get_template("docs.html.j2").render(
            specs=json.dumps(
                [
                    {"name": document_name(s["document"]), "url": s["document"]}
                    for s in services
                    if s["document"]
                ]
            )
        )
    )
    return out / "nginx.conf"


def document_name(path: str) -> str:
    """What the /docs page calls a document: the first segment of its path (`status` for
    `/status/api/openapi.json`)."""
    return path.strip("/").split("/")[0]


def _mime_types() -> str:
    for candidate in ("/etc/nginx/mime.types", "/usr/local/nginx/conf/mime.types"):
        if Path(candidate).exists():
            return candidate
    raise FileNotFoundError("nginx's mime.types not found: is nginx installed?")
