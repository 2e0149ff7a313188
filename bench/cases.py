"""The cases: what one request costs through the gateway compared with straight to a service."""

from __future__ import annotations

import json
import random
import time
import urllib.request
import uuid

from services.kit.makers import random_cpf

from .registry import Context, Request, case, ratio


@case("gateway authenticated GET")
def gateway_me(ctx: Context) -> Request:
    """GET /auth/me through the gateway: auth_request (verify cached 5 s), then auth."""
    return Request(f"{ctx.cfg.gateway_url}/auth/me", ctx.bearer())


@case("direct GET")
def direct_me(ctx: Context) -> Request:
    """GET /auth/me straight to the auth service, with the same token."""
    return Request(f"{ctx.cfg.service_url('auth')}/auth/me", ctx.bearer())


@case("gateway public route")
def gateway_health(ctx: Context) -> Request:
    """GET /health, which nginx answers itself: the gateway's floor."""
    return Request(f"{ctx.cfg.gateway_url}/health")


@case("gateway public proxied")
def gateway_jwks(ctx: Context) -> Request:
    """GET /auth/.well-known/jwks.json: proxied to auth without auth_request."""
    return Request(f"{ctx.cfg.gateway_url}/auth/.well-known/jwks.json")


ratio("gateway authenticated / direct", "gateway authenticated GET", "direct GET", 0.90)


def _create_client(ctx: Context) -> int:
    """A client of the bench's own (a fresh email and CPF), created through the gateway."""
    body = json.dumps(
        {
            "name": "Bench Cliente",
            "email": f"bench-{uuid.uuid4().hex}@example.com",
            "cpf": random_cpf(random.Random()),  # noqa: S311 (test data)
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (the stack's own loopback URL)
        f"{ctx.cfg.gateway_url}/clients",
        data=body,
        headers={**ctx.bearer(), "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)["id"]


@case("GET by id")
def get_by_id(ctx: Context) -> Request:
    """GET /clients/{id} through the gateway: the token, one primary-key SELECT, the JSON."""
    return Request(f"{ctx.cfg.gateway_url}/clients/{_create_client(ctx)}", ctx.bearer())


# Every CPF is FIRST + 8 * n + the thread's lane, so wrk's threads (at most 8) never send the same
# one. The warm-up, the measured run and each round are separate wrk runs of the same script: each
# starts its count 10,000 per second (more than a thread can create) past when the case was
# prepared, so no run repeats a CPF an earlier one sent.
_CREATE_CLIENT_LUA = """
local threads = 0
function setup(thread)
  thread:set("lane", threads)
  threads = threads + 1
end
local n = 0
function init(args)
  n = (os.time() - STARTED) * 10000
end
function request()
  n = n + 1
  local d = {}
  local nine = string.format("%09d", FIRST + n * 8 + lane)
  for i = 1, 9 do d[i] = tonumber(nine:sub(i, i)) end
  for _ = 1, 2 do
    local size, sum = #d, 0
    for i = 1, size do sum = sum + d[i] * (size + 2 - i) end
    local r = sum % 11
    d[size + 1] = r < 2 and 0 or 11 - r
  end
  local cpf = table.concat(d)
  local body = '{"name":"Bench Cliente","email":"RUN-' .. cpf .. '@example.com",'
    .. '"cpf":"' .. cpf .. '"}'
  return wrk.format(nil, nil, nil, body)
end
"""
# The bench's CPFs start with 1 to 6; the bulk clients' (stack/seed.py) with 7.
_CREATE_CPF_FLOOR = 100_000_000


def _first_free_cpf(ctx: Context) -> int:
    """Past the highest CPF an earlier run of this case created (they start below 7)."""
    import psycopg

    url = ctx.cfg.database_url("clients", ctx.cfg.db_passwords()["clients"])
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        highest = conn.execute(
            "SELECT max(cpf) FROM clients.clients WHERE cpf >= '100' AND cpf < '7'"
        ).fetchone()[0]
    if highest is None:
        return _CREATE_CPF_FLOOR
    return int(highest.replace(".", "").replace("-", "")[:9]) + 1


@case("create client")
def create_client(ctx: Context) -> Request:
    """POST /clients through the gateway, each with its own CPF and email: validation, insert,
    the client.created event in the outbox, one commit."""
    first = _first_free_cpf(ctx)
    script = (
        _CREATE_CLIENT_LUA.replace("FIRST", str(first))
        .replace("STARTED", str(int(time.time())))
        .replace("RUN-", f"bench-{uuid.uuid4().hex[:8]}-")
    )
    return Request(
        f"{ctx.cfg.gateway_url}/clients",
        {**ctx.bearer(), "Content-Type": "application/json"},
        method="POST",
        script=script,
    )


@case("login")
def login(ctx: Context) -> Request:
    """POST /auth/login straight to auth with the admin's right password: one argon2id check
    (OWASP's parameters) and a session row. Not through the gateway, whose `limit_req` allows one
    address 10 logins/s: the figure is auth's own."""
    body = {
        "email": ctx.cfg.get("FEIRA_ADMIN_EMAIL"),
        "password": ctx.cfg.get("FEIRA_ADMIN_PASSWORD"),
    }
    return Request(
        f"{ctx.cfg.service_url('auth')}/auth/login",
        {"Content-Type": "application/json"},
        method="POST",
        body=json.dumps(body),
    )
