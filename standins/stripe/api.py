"""Stripe's HTTP API (the part Feira uses) and the stand-in's test-only routes."""

from __future__ import annotations

import copy
import hmac
import json
import re
import secrets
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

from .state import (
    CANCELLATION_REASONS,
    CARDS,
    PIX_DEFAULT_EXPIRY,
    PIX_MAX_EXPIRY,
    PIX_MIN_EXPIRY,
    STATUS_OF_EVENT,
    Store,
    StripeError,
    missing,
    new_id,
)
from .webhooks import Dispatcher

v1 = Blueprint("v1", __name__, url_prefix="/v1")
standin = Blueprint("standin", __name__, url_prefix="/_standin")
# The smallest BRL charge Stripe accepts (R$0.50).
MIN_AMOUNT = 50
PAYMENT_METHOD_TYPES = ("card", "pix")
# The events a failed refund makes, each carrying the Refund: Stripe sends
# `charge.refund.updated` for some payment methods only, `refund.updated` and `refund.failed`
# for every refund.
REFUND_FAILED_EVENTS = ("charge.refund.updated", "refund.updated", "refund.failed")


def store() -> Store:
    return current_app.extensions["stripe_store"]


def dispatcher() -> Dispatcher:
    return current_app.extensions["stripe_webhooks"]


def answer(body: Any, status: int = 200) -> Response:
    response = Response(json.dumps(body, indent=2), status, mimetype="application/json")
    response.headers["Request-Id"] = g.get("request_id", "")
    return response


# --- form parameters, as the SDK encodes them: a[b][c]=x, a[0]=x, a[]=x ---


def parse_form(pairs: list[tuple[str, str]]) -> dict:
    params: dict = {}
    for key, value in pairs:
        head, *path = re.findall(r"^[^\[]+|(?<=\[)[^\]]*(?=\])", key)
        node, name = params, head
        for part in path:
            node = node.setdefault(name, {})
            name = part if part else str(len(node))
        node[name] = value
    return _lists(params)


def _lists(node: Any) -> Any:
    """{"0": x, "1": y} becomes [x, y]."""
    if not isinstance(node, dict):
        return node
    node = {key: _lists(value) for key, value in node.items()}
    if node and all(key.isdigit() for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


def integer(params: dict, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value is None:
        if required:
            raise StripeError(
                400, f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?\d{1,15}", value):
        raise StripeError(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
        )
    return int(value)


def string(params: dict, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {name}", param=name)
    return value


def mapping(params: dict, name: str) -> dict:
    value = params.get(name) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise StripeError(400, f"Invalid object: {name}", param=name)
    return value


def boolean(params: dict, name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise StripeError(400, f"Invalid boolean: {value}", param=name)
    return value == "true"


# --- authentication and idempotency, around every /v1 request ---


@v1.before_request
def authenticate() -> Response | None:
    g.request_id = "req_" + secrets.token_hex(7)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    expected = current_app.config["STRIPE_SECRET_KEY"]
    if scheme.lower() != "bearer" or not key:
        message = (
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY')."
        )
        return answer(StripeError(401, message).body, 401)
    if not hmac.compare_digest(key.encode(), expected.encode()):
        # Only the key's kind (sk_test_, sk_live_): callers log this message.
        shown = key[: key.find("_", 3) + 1] + "*" * 12 if key.startswith("sk_") else "*" * 12
        return answer(StripeError(401, f"Invalid API Key provided: {shown}").body, 401)
    g.params = parse_form(list(request.form.items(multi=True)) or list(request.args.items()))
    return None


def idempotent(handler):
    """Stripe's idempotency: a POST with an `Idempotency-Key` already seen gets the first answer
    again (`Idempotent-Replayed: true`) if its endpoint and parameters are the same, else a 400
    idempotency_error. Errors of validation are not kept (Stripe's rule): the key can be retried."""

    def run(*args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        fingerprint = (request.method, request.path, tuple(sorted(request.form.items(multi=True))))
        with store().lock:
            if key and key in store().idempotent:
                seen, status, body = store().idempotent[key]
                if seen != fingerprint:
                    message = (
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request."
                    )
                    return answer(StripeError(400, message, type="idempotency_error").body, 400)
                response = Response(body, status, mimetype="application/json")
                response.headers["Idempotent-Replayed"] = "true"
                response.headers["Request-Id"] = g.request_id
                return response
            g.events = []
            try:
                body, status = handler(*args, **kwargs), 200
            except StripeError as error:
                if error.status != 402:
                    return answer(error.body, error.status)
                body, status = error.body, error.status
            response = answer(body, status)
            if key:
                store().idempotent[key] = (fingerprint, status, response.get_data())
                response.headers["Idempotency-Key"] = key
            # Queued under the lock, so events leave in the order they were made.
            for record in g.events:
                deliver(record)
        return response

    run.__name__ = handler.__name__
    return run


def deliver(record) -> None:
    if store().take_drop():
        return
    dispatcher().enqueue(record.event["id"], record.payload)


def emit(type: str, obj: dict) -> None:
    """Make an event now (under the request's lock); it is sent once the answer is ready."""
    request_info = {"id": g.request_id, "idempotency_key": request.headers.get("Idempotency-Key")}
    g.events.append(store().make_event(type, obj, request_info))


# --- PaymentIntents ---


@v1.post("/payment_intents")
@idempotent
def create_payment_intent() -> dict:
    params = g.params
    amount = integer(params, "amount", required=True)
    currency = string(params, "currency")
    if not currency:
        raise StripeError(
            400, "Missing required param: currency.", code="parameter_missing", param="currency"
        )
    currency = currency.lower()
    if amount < MIN_AMOUNT and currency == "brl":
        raise StripeError(
            400, "Amount must be at least R$0.50 brl", code="amount_too_small", param="amount"
        )
    if amount < 1:
        raise StripeError(400, "This value must be greater than or equal to 1.", param="amount")
    types = params.get("payment_method_types") or ["card"]
    if not isinstance(types, list) or any(t not in PAYMENT_METHOD_TYPES for t in types):
        raise StripeError(
            400,
            f"The payment method type provided: {types} is invalid. This "
            f"stand-in accepts: {', '.join(PAYMENT_METHOD_TYPES)}.",
            param="payment_method_types",
        )
    if "pix" in types and currency != "brl":
        raise StripeError(
            400,
            "The currency provided (" + currency + ") is invalid for pix: it supports brl only.",
            param="currency",
        )
    options = params.get("payment_method_options") or {}
    pix_options = options.get("pix") if isinstance(options, dict) else None
    expiry = integer(pix_options or {}, "expires_after_seconds")
    expiry = PIX_DEFAULT_EXPIRY if expiry is None else expiry
    if not PIX_MIN_EXPIRY <= expiry <= PIX_MAX_EXPIRY:
        raise StripeError(
            400,
            f"expires_after_seconds must be between {PIX_MIN_EXPIRY} and {PIX_MAX_EXPIRY}.",
            param="payment_method_options[pix][expires_after_seconds]",
        )
    method = string(params, "payment_method")
    method_data = params.get("payment_method_data") or {}
    method_type = method_data.get("type") if isinstance(method_data, dict) else None
    confirm = boolean(params, "confirm")
    error_on_requires_action = boolean(params, "error_on_requires_action")
    if error_on_requires_action and not confirm:
        raise StripeError(
            400,
            "error_on_requires_action can only be used with confirm=true.",
            param="error_on_requires_action",
        )
    if method is not None and method not in CARDS:
        raise StripeError(
            400,
            f"No such PaymentMethod: '{method}'",
            code="resource_missing",
            param="payment_method",
        )
    if method is not None and "card" not in types:
        raise StripeError(
            400,
            "The PaymentMethod provided (card) is not allowed for this PaymentIntent: "
            f"payment_method_types is {types}.",
            code="payment_intent_incompatible_payment_method",
            param="payment_method",
        )
    intent = store().new_payment_intent(
        amount=amount,
        currency=currency,
        types=types,
        metadata=mapping(params, "metadata"),
        description=string(params, "description"),
        pix_expiry=expiry,
    )
    if method_type == "pix" or (method is None and types == ["pix"]):
        if confirm:
            store().confirm_pix(intent)
        elif method_type == "pix":
            # Stripe makes the PaymentMethod of payment_method_data at once: the intent waits
            # for its confirmation.
            intent.update(status="requires_confirmation", payment_method=new_id("pm"))
        return copy.deepcopy(intent)
    if method is None:
        return copy.deepcopy(intent)
    if not confirm:
        intent.update(status="requires_confirmation", payment_method=method)
        return copy.deepcopy(intent)
    event = store().confirm_card(intent, method, error_on_requires_action)
    emit(event, intent)
    if intent["status"] == "requires_payment_method":
        error = dict(intent["last_payment_error"])
        error.pop("payment_method")
        raise StripeError(402, payment_intent=copy.deepcopy(intent), **error)
    return copy.deepcopy(intent)


@v1.get("/payment_intents/<intent_id>")
def get_payment_intent(intent_id: str) -> Response:
    with store().lock:
        try:
            return answer(copy.deepcopy(store().payment_intent(intent_id)))
        except StripeError as error:
            return answer(error.body, error.status)


@v1.post("/payment_intents/<intent_id>/cancel")
@idempotent
def cancel_payment_intent(intent_id: str) -> dict:
    intent = store().payment_intent(intent_id)
    reason = string(g.params, "cancellation_reason")
    if reason is not None and reason not in CANCELLATION_REASONS:
        raise StripeError(
            400,
            f"Invalid cancellation_reason: must be one of {', '.join(CANCELLATION_REASONS)}",
            param="cancellation_reason",
        )
    store().cancel(intent, reason)
    emit("payment_intent.canceled", intent)
    return copy.deepcopy(intent)


# --- Charges and Refunds ---


@v1.get("/charges/<charge_id>")
def get_charge(charge_id: str) -> Response:
    with store().lock:
        if charge_id not in store().charges:
            return answer(missing("charge", charge_id).body, 404)
        return answer(copy.deepcopy(store().charges[charge_id]))


@v1.post("/refunds")
@idempotent
def create_refund() -> dict:
    params = g.params
    intent_id, charge_id = string(params, "payment_intent"), string(params, "charge")
    if intent_id:
        if intent_id not in store().payment_intents:
            raise missing("payment_intent", intent_id, "payment_intent")
        intent = store().payment_intents[intent_id]
        if intent["status"] != "succeeded":
            raise StripeError(
                400,
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        charge_id = intent["latest_charge"]
    elif not charge_id:
        raise StripeError(
            400,
            "One of the following params should be provided for this "
            "request: payment_intent or charge.",
            code="parameter_missing",
        )
    if charge_id not in store().charges:
        raise missing("charge", charge_id, "charge")
    charge = store().charges[charge_id]
    amount = integer(params, "amount")
    if amount is not None and amount < 1:
        raise StripeError(400, "This value must be greater than or equal to 1.", param="amount")
    refund = store().refund(charge, amount, string(params, "reason"), mapping(params, "metadata"))
    if refund["status"] == "failed":
        for type in REFUND_FAILED_EVENTS:
            emit(type, refund)
    else:
        emit("charge.refunded", charge)
    return copy.deepcopy(refund)


@v1.get("/refunds/<refund_id>")
def get_refund(refund_id: str) -> Response:
    with store().lock:
        if refund_id not in store().refunds:
            return answer(missing("refund", refund_id).body, 404)
        return answer(copy.deepcopy(store().refunds[refund_id]))


# --- test-only routes (never behind the gateway) ---


def json_body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def standin_error(error: StripeError) -> Response:
    return answer(error.body, error.status)


@standin.before_request
def standin_request_id() -> None:
    g.request_id = "req_" + secrets.token_hex(7)


@standin.get("/health")
def health() -> Response:
    return answer({"status": "ok"})


@standin.post("/payment_intents/<intent_id>/pay")
def pay(intent_id: str) -> Response:
    body = json_body()
    amount = body.get("amount_received")
    if amount is not None and (type(amount) is not int or amount < 1):
        return standin_error(
            StripeError(400, "amount_received must be a positive integer", param="amount_received")
        )
    with store().lock:
        try:
            intent = store().payment_intent(intent_id)
            store().pay_pix(intent, intent["amount"] if amount is None else amount)
        except StripeError as error:
            return standin_error(error)
        request_info = {"id": g.request_id, "idempotency_key": None}
        deliver(store().make_event("payment_intent.succeeded", intent, request_info))
        view = copy.deepcopy(intent)
    return answer(view)


@standin.post("/refunds/<refund_id>/fail")
def fail_refund(refund_id: str) -> Response:
    """What Stripe does on its own some time after a refund of `pm_card_refundFail`'s charge was
    made: it fails, and REFUND_FAILED_EVENTS say so."""
    with store().lock:
        try:
            refund = store().fail_refund(refund_id)
        except StripeError as error:
            return standin_error(error)
        request_info = {"id": None, "idempotency_key": None}
        for type in REFUND_FAILED_EVENTS:
            deliver(store().make_event(type, refund, request_info))
        view = copy.deepcopy(refund)
    return answer(view)


def _count() -> int:
    """The body's `count` (1 if absent): an integer >= 0, else a 400 (StripeError)."""
    count = json_body().get("count", 1)
    if type(count) is not int or count < 0:
        raise StripeError(400, "count must be an integer >= 0", param="count")
    return count


@standin.post("/refunds/fail_next")
def fail_next_refunds() -> Response:
    """The next `count` refunds made are answered `failed` at once (a refund Stripe fails
    before it answers), where `/refunds/{id}/fail` fails one later."""
    try:
        count = _count()
    except StripeError as error:
        return standin_error(error)
    with store().lock:
        store().fail_next_refunds = count
    return answer({"fail_next": count})


@standin.get("/payment_intents/<intent_id>/pix")
def pix_instructions(intent_id: str) -> Response:
    """What `hosted_instructions_url` shows: the copia-e-cola code, as text."""
    with store().lock:
        intent = store().payment_intents.get(intent_id)
        action = (intent or {}).get("next_action") or {}
        code = action.get("pix_display_qr_code", {}).get("data")
    if code is None:
        return standin_error(missing("payment_intent", intent_id))
    return Response(code + "\n", mimetype="text/plain")


@standin.get("/payment_intents/<intent_id>/pix.<kind>")
def pix_image(intent_id: str, kind: str) -> Response:
    """`image_url_png`/`_svg`: the stand-in draws no QR images (the code is in `data`)."""
    error = StripeError(
        501,
        "The Stripe stand-in draws no QR code images: render "
        "next_action.pix_display_qr_code.data, or open hosted_instructions_url.",
    )
    return standin_error(error)


@standin.post("/webhooks/drop")
def drop() -> Response:
    try:
        count = _count()
    except StripeError as error:
        return standin_error(error)
    with store().lock:
        store().drop_next = count
    return answer({"drop_next": count})


@standin.get("/events")
def events() -> Response:
    return answer({"data": store().events_of(request.args.get("payment_intent"))})


@standin.post("/events/<event_id>/resend")
def resend(event_id: str) -> Response:
    age = json_body().get("age_s", 0)
    if type(age) is not int:
        return standin_error(StripeError(400, "age_s must be an integer", param="age_s"))
    with store().lock:
        record = store().events.get(event_id)
    if record is None:
        return standin_error(missing("event", event_id))
    return answer({"status": dispatcher().send(event_id, record.payload, age_s=age)})


@standin.post("/events")
def send_event() -> Response:
    """A new event of `type` about `payment_intent`, with the status that type implies, sent
    now: a late or out-of-order event (the stored PaymentIntent does not change)."""
    body = json_body()
    kind, intent_id = body.get("type"), body.get("payment_intent")
    if kind not in STATUS_OF_EVENT:
        return standin_error(
            StripeError(400, f"type must be one of {', '.join(STATUS_OF_EVENT)}", param="type")
        )
    with store().lock:
        try:
            intent = copy.deepcopy(store().payment_intent(str(intent_id)))
        except StripeError as error:
            return standin_error(error)
        intent["status"] = STATUS_OF_EVENT[kind]
        record = store().make_event(kind, intent, {"id": g.request_id, "idempotency_key": None})
    status = dispatcher().send(record.event["id"], record.payload)
    return answer({"event": record.event, "status": status})


def register(app: Flask) -> None:
    app.register_blueprint(v1)
    app.register_blueprint(standin)

    @app.errorhandler(404)
    def unknown_route(_error: Exception) -> Response:
        message = (
            f"Unrecognized request URL ({request.method}: {request.path}). This stand-in "
            "implements only the part of Stripe's API Feira uses."
        )
        return Response(
            json.dumps(StripeError(404, message).body), 404, mimetype="application/json"
        )

    @app.errorhandler(405)
    def wrong_method(_error: Exception) -> Response:
        message = f"Unrecognized request URL ({request.method}: {request.path})."
        return Response(
            json.dumps(StripeError(404, message).body), 404, mimetype="application/json"
        )
