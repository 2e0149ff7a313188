"""Payments through the gateway (issue 15: card payments per second with 10 connections, and
webhook events per second).

"card payment (10 buyers)": each request is a whole POST /payments with `pm_card_visa` for an
order of its own: auth_request at the gateway, the order read from orders, the PaymentIntent
created and confirmed at the provider (the Stripe stand-in on a local stack, through the official
SDK), the payment row and its `payment.succeeded` in the outbox, one commit. A payment uses its
order up (only a pending order with no open payment can be paid), so the setup places enough
pending orders for every run of the case: it times a few payments first, then places what that
rate needs for the case's whole load, twice over. The orders are handed out in chunks that a wrk
thread claims by renaming a file (atomic), so no two requests, threads or runs pay the same order.

"stripe webhook events": each request is a POST /payments/webhooks/stripe through the gateway
(public: no token) with a `payment_intent.succeeded` event for one of the bench's 20 succeeded
payments, each with an event id of its own, signed as Stripe signs (HMAC-SHA256 over
`t.raw_body` with PAYMENTS_WEBHOOK_SECRET, the one the stack hands payments), at the time it is
sent (Stripe's tolerance is 300 s, rounds last longer). The service checks the signature, records
the event id (processed once) and finds the payment already succeeded: the work of every
redelivery and late event a real provider sends.

When the run ends, the paid orders are cancelled (payments refunds each at the provider, as for
any paid order cancelled), every order is deleted, then the client and the product. Payments are
records of money: they stay, refunded."""

from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from .orders import BUYERS, _buyer_and_products, _call, _in_parallel, _order
from .registry import Context, Request, case

CARD = "pm_card_visa"
# Paid and timed before the supply is placed: enough for a rate, few enough to be quick.
PILOT = 100
# The pilot's Python clients open a connection per request, wrk keeps its ten: room for that.
HEADROOM = 2.0
MOST_ORDERS = 30_000
CHUNK = 25
WEBHOOK_PAYMENTS = 20


def _place_orders(ctx: Context, client_id: int, product_id: int, count: int) -> list[int]:
    """`count` pending orders, ten at a time. On a busy machine a reservation can time out: such
    an order is a 503 that reserved nothing, and is placed again (up to 3 times)."""
    body = json.loads(_order(client_id, product_id))

    def place(_) -> int:
        for attempt in range(3):
            try:
                return _call(ctx, "POST", "/orders", body)["id"]
            except urllib.error.HTTPError as exc:
                if exc.code != 503 or attempt == 2:
                    raise
                time.sleep(1.0 + attempt)
        raise AssertionError("unreachable")

    return _in_parallel(place, range(count))


def _pay(ctx: Context, order_id: int) -> dict:
    payment = _call(
        ctx, "POST", "/payments", {"order_id": order_id, "method": "card", "payment_method": CARD}
    )
    if payment["status"] != "succeeded":
        raise ValueError(f"the bench's card payment of order {order_id} is {payment['status']}")
    return payment


def _orders_of(ctx: Context, client_id: int, status: str) -> list[int]:
    page = _call(ctx, "GET", f"/orders?client_id={client_id}&status={status}&per_page=100")
    return [order["id"] for order in page["items"]]


def _clean_up(ctx: Context, client_id: int) -> None:
    """Cancel the run's paid and pending orders and delete them, ten at a time (bench/orders.py's
    clean-up, which runs next, then finds none and deletes the client and the product). Best
    effort: an order that fails (a busy machine's 503) is tried again in the next pass."""
    time.sleep(1.0)
    cancel = {"status": "cancelled"}

    def tolerant(method: str, body: dict | None = None):
        def call(order_id: int) -> bool:
            path = f"/orders/{order_id}" + ("/status" if body else "")
            try:
                _call(ctx, method, path, body)
            except (urllib.error.URLError, OSError):
                return False
            return True

        return call

    try:
        for status, work in (
            ("paid", tolerant("POST", cancel)),
            ("pending", tolerant("POST", cancel)),
            ("cancelled", tolerant("DELETE")),
        ):
            stuck = 0  # passes in a row in which nothing moved
            while stuck < 3 and (ids := _orders_of(ctx, client_id, status)):
                stuck = 0 if any(_in_parallel(work, ids)) else stuck + 1
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        print(f"    could not clean up the payments bench's orders: {exc}")


def _buyer(ctx: Context) -> tuple[int, int]:
    """A client and a product (bench/orders.py's, cleaned up at exit), and this module's clean-up
    of their orders, which atexit runs first."""
    client_id, [product_id] = _buyer_and_products(ctx, 1)
    atexit.register(_clean_up, ctx, client_id)
    return client_id, product_id


# Each wrk thread (its own Lua state) claims a chunk of orders by renaming its file from free-N to
# taken-N: a rename succeeds once, so no other thread, nor a later run, pays those orders. With
# every chunk taken, a thread sends the last order again: a 409 that wrk counts as non-2xx.
_CARD_LUA = """
local ids = {IDS}
local chunk, chunks = CHUNK, math.ceil(#ids / CHUNK)
local cursor, at, last = 0, 1, 0
local function claim()
  while cursor < chunks do
    local n = cursor
    cursor = cursor + 1
    if os.rename(DIR .. "/free-" .. n, DIR .. "/taken-" .. n) then return n end
  end
  return nil
end
function request()
  if at > last then
    local n = claim()
    if n == nil then
      at, last = #ids, #ids
    else
      at, last = n * chunk + 1, math.min((n + 1) * chunk, #ids)
    end
  end
  local id = ids[at]
  at = at + 1
  return wrk.format(nil, nil, nil, string.format(BODY, id))
end
"""


def _supply(ctx: Context, client_id: int, product_id: int) -> list[int]:
    """Pending orders for every card payment the case's runs can make: a pilot of PILOT payments
    (ten at a time) gives the rate."""
    pilot = _place_orders(ctx, client_id, product_id, PILOT)
    started = time.monotonic()
    _in_parallel(lambda order_id: _pay(ctx, order_id), pilot)
    rate = PILOT / (time.monotonic() - started)
    wanted = min(MOST_ORDERS, math.ceil(rate * HEADROOM * ctx.load_seconds) + CHUNK * BUYERS)
    print(f"    {rate:.0f} card payments/s in the pilot: placing {wanted} orders", flush=True)
    return _place_orders(ctx, client_id, product_id, wanted)


@case("card payment (10 buyers)")
def card_payment(ctx: Context) -> Request:
    """POST /payments by card (pm_card_visa) through the gateway, 10 buyers, an order each."""
    client_id, product_id = _buyer(ctx)
    orders = _supply(ctx, client_id, product_id)
    chunks = Path(tempfile.mkdtemp(prefix="feira-bench-payments-"))
    atexit.register(shutil.rmtree, chunks, ignore_errors=True)
    for n in range(math.ceil(len(orders) / CHUNK)):
        (chunks / f"free-{n}").touch()
    body = '{"order_id":%d,"method":"card","payment_method":"' + CARD + '"}'
    script = (
        _CARD_LUA.replace("CHUNK", str(CHUNK))
        .replace("DIR", json.dumps(str(chunks)))
        .replace("BODY", json.dumps(body))
        .replace("IDS", ",".join(map(str, orders)))
    )
    return Request(
        f"{ctx.cfg.gateway_url}/payments",
        {**ctx.bearer(), "Content-Type": "application/json"},
        connections=BUYERS,
        method="POST",
        script=script,
    )


# FIPS 180-4 SHA-256 and RFC 2104 HMAC over LuaJIT's `bit` (wrk's Lua is LuaJIT): Stripe signs
# `t.raw_body` with the webhook secret, and a signature must be at most 300 s old when it lands.
_SHA256_LUA = """
local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rshift, lshift, ror, tobit, tohex = bit.rshift, bit.lshift, bit.ror, bit.tobit, bit.tohex
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local function sha256(message)
  local length = #message
  message = message .. "\\128" .. string.rep("\\0", (55 - length) % 64)
    .. "\\0\\0\\0\\0" .. string.char(
      band(rshift(length, 21), 0xff), band(rshift(length, 13), 0xff),
      band(rshift(length, 5), 0xff), band(lshift(length, 3), 0xff))
  local h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
  for i = 1, 8 do h[i] = tobit(h[i]) end
  local w = {}
  for start = 1, #message, 64 do
    for i = 0, 15 do
      local a, b, c, d = message:byte(start + i * 4, start + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 63 do
      local s0 = bxor(ror(w[i - 15], 7), ror(w[i - 15], 18), rshift(w[i - 15], 3))
      local s1 = bxor(ror(w[i - 2], 17), ror(w[i - 2], 19), rshift(w[i - 2], 10))
      w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
    for i = 0, 63 do
      local s1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
      local ch = bxor(band(e, f), band(bnot(e), g))
      local t1 = tobit(hh + s1 + ch + K[i + 1] + w[i])
      local s0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
      local maj = bxor(band(a, b), band(a, c), band(b, c))
      local t2 = tobit(s0 + maj)
      hh, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
    end
    h[1], h[2], h[3], h[4] = tobit(h[1] + a), tobit(h[2] + b), tobit(h[3] + c), tobit(h[4] + d)
    h[5], h[6], h[7], h[8] = tobit(h[5] + e), tobit(h[6] + f), tobit(h[7] + g), tobit(h[8] + hh)
  end
  local out = {}
  for i = 1, 8 do
    local x = h[i]
    out[i] = string.char(band(rshift(x, 24), 0xff), band(rshift(x, 16), 0xff),
                         band(rshift(x, 8), 0xff), band(x, 0xff))
  end
  return table.concat(out)
end
local function hex(raw)
  return (raw:gsub(".", function(c) return tohex(c:byte(), 2) end))
end
local function hmac_sha256(key, message)
  if #key > 64 then key = sha256(key) end
  key = key .. string.rep("\\0", 64 - #key)
  local inner, outer = {}, {}
  for i = 1, 64 do
    inner[i] = string.char(bxor(key:byte(i), 0x36))
    outer[i] = string.char(bxor(key:byte(i), 0x5c))
  end
  return sha256(table.concat(outer) .. sha256(table.concat(inner) .. message))
end
"""

# Each request: an event id no run has sent (the run's tag, the second the thread started, the
# thread's lane and its count) for one of the payments in turn, signed now.
_WEBHOOK_LUA = """
local secret = SECRET
local templates = {TEMPLATES}
local threads = 0
function setup(thread)
  thread:set("lane", threads)
  threads = threads + 1
end
local n, started = 0, 0
function init(args)
  started = os.time()
end
function request()
  n = n + 1
  local now = os.time()
  local id = string.format("evt_bench%s%d%02d%08d", RUN, started, lane, n)
  local body = string.format(templates[(n + lane) % #templates + 1], id, now)
  local signature = hex(hmac_sha256(secret, now .. "." .. body))
  wrk.headers["Stripe-Signature"] = "t=" .. now .. ",v1=" .. signature
  return wrk.format(nil, nil, nil, body)
end
"""


def _stack_secret(ctx: Context, name: str) -> str:
    """A secret as the stack hands it to payments (StackConfig.payments_provider): the stand-in's
    generated one while FEIRA_STANDINS lists stripe, whatever the settings say."""
    return ctx.cfg.payments_provider()[name]


def _provider_url(ctx: Context) -> str:
    """The provider payments reaches (StackConfig.payments_provider), else the stand-in's."""
    return ctx.cfg.payments_provider().get("PAYMENTS_PROVIDER_URL") or ctx.cfg.stripe_standin_url


def _payment_intent(ctx: Context, provider_ref: str) -> dict:
    """The PaymentIntent as the provider has it (its API, with the stack's secret key)."""
    key = _stack_secret(ctx, "PAYMENTS_PROVIDER_SECRET_KEY")
    request = urllib.request.Request(  # noqa: S310 (the stack's own provider or stand-in)
        f"{_provider_url(ctx)}/v1/payment_intents/{provider_ref}",
        headers={"Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def _event_template(intent: dict) -> str:
    """A Stripe event carrying `intent`, with `%s` for its id and `%d` for its creation time,
    as string.format fills them (the JSON's own percent signs doubled)."""
    event = {
        "id": "EVENT_ID",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 0,
        "data": {"object": intent},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
    }
    text = json.dumps(event, separators=(",", ":")).replace("%", "%%")
    return text.replace('"EVENT_ID"', '"%s"', 1).replace('"created":0', '"created":%d', 1)


@case("stripe webhook events")
def stripe_webhooks(ctx: Context) -> Request:
    """POST /payments/webhooks/stripe through the gateway: signed events, each id new."""
    secret = _stack_secret(ctx, "PAYMENTS_WEBHOOK_SECRET")
    client_id, product_id = _buyer(ctx)
    orders = _place_orders(ctx, client_id, product_id, WEBHOOK_PAYMENTS)
    payments = _in_parallel(lambda order_id: _pay(ctx, order_id), orders)
    templates = [_event_template(_payment_intent(ctx, p["provider_ref"])) for p in payments]
    webhook = (
        _WEBHOOK_LUA.replace("RUN", json.dumps(uuid.uuid4().hex[:6]))
        .replace("SECRET", json.dumps(secret))
        .replace("TEMPLATES", ",".join(json.dumps(t) for t in templates))
    )
    script = _SHA256_LUA + webhook
    return Request(
        f"{ctx.cfg.gateway_url}/payments/webhooks/stripe",
        {"Content-Type": "application/json"},
        method="POST",
        script=script,
    )
