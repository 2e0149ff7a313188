"""The Cloud API's send route (the part Feira uses), Graph errors, and the stand-in's test-only
routes."""

from __future__ import annotations

import hmac
import json
import re
import secrets
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from .state import GraphError, Message, Store
from .webhooks import Dispatcher

standin = Blueprint("standin", __name__, url_prefix="/_standin")

STATUSES = ("sent", "delivered", "read", "failed")
# What the test switch may make the next sends answer: Graph's code and message for each.
FAILURES = {
    429: (130429, "(#130429) Rate limit hit"),
    500: (131000, "(#131000) Something went wrong"),
    503: (131000, "(#131000) Something went wrong"),
}
# Meta also answers its rate limits as a 400 with the limit's code: the switch may ask for one.
THROTTLED_400 = {
    4: "(#4) Application request limit reached",
    80007: "(#80007) Rate limit issues",
    130429: "(#130429) Rate limit hit",
    131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
}
UNDELIVERABLE = {
    "code": 131026,
    "title": "Message undeliverable",
    "message": "Message undeliverable",
    "error_data": {"details": "Message Undeliverable."},
}
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
PHONE = re.compile(r"^\+?[0-9 ()\-]{8,24}$")
# Meta refuses template parameters with a new line, a tab or more than 4 spaces in a row.
BAD_PARAMETER_TEXT = re.compile(r"[\n\t]| {5,}")
MAX_PARAMETER_TEXT = 32768


def store() -> Store:
    return current_app.extensions["whatsapp_store"]


def dispatcher() -> Dispatcher:
    return current_app.extensions["whatsapp_webhooks"]


def settings() -> dict[str, Any]:
    return current_app.extensions["whatsapp_settings"]


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def graph_error(error: GraphError) -> Response:
    body: dict[str, Any] = {"message": error.message, "type": error.type, "code": error.code}
    if error.subcode is not None:
        body["error_subcode"] = error.subcode
    if error.details is not None:
        body["error_data"] = {"messaging_product": "whatsapp", "details": error.details}
    body["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    response = answer({"error": body}, error.status)
    if error.code == 190:
        response.headers["WWW-Authenticate"] = (
            'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"'
        )
    return response


def invalid(details: str, *, code: int = 100, message: str = "(#100) Invalid parameter"):
    return GraphError(400, message, code, details=details)


def required(name: str) -> GraphError:
    return invalid(
        f"The parameter {name} is required.", message=f"(#100) The parameter {name} is required."
    )


def authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = settings()["access_token"]
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise GraphError(401, "Invalid OAuth access token - Cannot parse access token", 190)


def json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def text_field(value: Any, name: str) -> str:
    if value is None:
        raise required(name)
    if not isinstance(value, str) or not value:
        raise invalid(f"{name} must be a non-empty string.")
    return value


def template_parameters(components: Any) -> list[str]:
    """The body's parameters as text, checked as Meta checks them."""
    if components is None:
        return []
    if not isinstance(components, list):
        raise invalid("template.components must be an array.")
    texts: list[str] = []
    for index, component in enumerate(components):
        where = f"template.components[{index}]"
        if not isinstance(component, dict) or component.get("type") not in (
            "header",
            "body",
            "button",
        ):
            raise invalid(f"{where}.type must be header, body or button.")
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list):
            raise invalid(f"{where}.parameters must be an array.")
        for number, parameter in enumerate(parameters):
            at = f"{where}.parameters[{number}]"
            if not isinstance(parameter, dict) or not isinstance(parameter.get("type"), str):
                raise invalid(f"{at}.type is required.")
            kind = parameter["type"]
            if kind == "text":
                value = parameter.get("text")
            elif kind in ("currency", "date_time"):
                value = (parameter.get(kind) or {}).get("fallback_value")
            else:
                value = kind
            if not isinstance(value, str) or not value.strip():
                raise GraphError(
                    400,
                    "(#131008) Required parameter is missing",
                    131008,
                    details=f"{at}.text is required and cannot be empty.",
                )
            if kind == "text" and (
                BAD_PARAMETER_TEXT.search(value) or len(value) > MAX_PARAMETER_TEXT
            ):
                raise GraphError(
                    400,
                    "(#132018) There was an issue with the parameters in your template.",
                    132018,
                    details=f"{at}.text: Param text cannot have new-line/tab characters or "
                    "more than 4 consecutive spaces",
                )
            if component["type"] == "body":
                texts.append(value)
    return texts


def phone_digits(given: str) -> str:
    """The digits of a phone number in international format (GraphError if it is not one)."""
    digits = re.sub(r"\D", "", given)
    if not PHONE.match(given) or not 8 <= len(digits) <= 15:
        raise invalid("to must be a phone number in international format.")
    return digits


def parse_send(body: dict) -> tuple[str, Message]:
    """The recipient as given and the message a valid send body describes (GraphError if not)."""
    if body.get("messaging_product") is None:
        raise required("messaging_product")
    if body["messaging_product"] != "whatsapp":
        raise invalid("messaging_product must be whatsapp.")
    if body.get("recipient_type", "individual") != "individual":
        raise invalid("recipient_type must be individual.")
    given = text_field(body.get("to"), "to")
    digits = phone_digits(given)
    kind = body.get("type", "text")
    if kind == "template":
        template = body.get("template")
        if not isinstance(template, dict):
            raise required("template")
        name = text_field(template.get("name"), "template.name")
        if not TEMPLATE_NAME.match(name):
            raise invalid("template.name must be lowercase letters, digits and underscores.")
        language = template.get("language")
        if not isinstance(language, dict):
            raise required("template.language")
        code = text_field(language.get("code"), "template.language.code")
        parameters = template_parameters(template.get("components"))
        message = Message(_wamid(), digits, kind, name, code, parameters, None)
    elif kind == "text":
        text = body.get("text")
        if not isinstance(text, dict):
            raise required("text")
        content = text_field(text.get("body"), "text.body")
        if len(content) > 4096:
            raise invalid("text.body must be at most 4096 characters.")
        message = Message(_wamid(), digits, kind, None, None, [], content)
    else:
        raise invalid("type must be template or text (the stand-in sends no other).")
    return given, message


def _wamid() -> str:
    return "wamid.HBgM" + secrets.token_urlsafe(27)


def status_payload(message: Message, status: str, timestamp: int) -> bytes:
    """The webhook body Meta POSTs for one status of a message."""
    config = settings()
    entry: dict[str, Any] = {
        "id": message.id,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": message.to,
    }
    if status in ("sent", "delivered"):
        entry["conversation"] = {
            "id": "c" + message.id[-16:],
            "origin": {"type": "utility"},
        }
        entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
    if status == "failed":
        entry["errors"] = [UNDELIVERABLE]
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": config["business_account_id"],
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": config["display_phone_number"],
                                "phone_number_id": config["phone_number_id"],
                            },
                            "statuses": [entry],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body).encode()


def schedule_statuses(message: Message) -> None:
    """sent, delivered and read, `status_delay_s` apart; failed alone for a reject number."""
    config = settings()
    delay = config["status_delay_s"]
    statuses = ("failed",) if message.to in config["reject_numbers"] else STATUSES[:3]
    for step, status in enumerate(statuses, start=1):
        timestamp = int(time.time() + step * delay)
        hook = store().webhook(message, status, timestamp)
        dispatcher().enqueue(hook, status_payload(message, status, timestamp), delay=step * delay)


def send_message(phone_number_id: str, version: str | None = None) -> Response:
    authenticate()
    if version is not None and not re.fullmatch(r"v\d+\.\d+", version):
        raise GraphError(400, f"Unknown path components: /{version}", 2500)
    if phone_number_id != settings()["phone_number_id"]:
        raise GraphError(
            400,
            f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            100,
            type="GraphMethodException",
            subcode=33,
        )
    given, message = parse_send(json_object())
    failure = store().take_failure(message.to)
    if failure is not None:
        status, code = failure
        code, text = (code, THROTTLED_400[code]) if status == 400 else FAILURES[status]
        raise GraphError(status, text, code, details=text.split(") ", 1)[1])
    store().add(message)
    schedule_statuses(message)
    current_app.logger.info("message %s accepted (%s)", message.id, message.template or "text")
    return answer(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": given, "wa_id": message.to}],
            "messages": [{"id": message.id, "message_status": "accepted"}],
        }
    )


# --- test-only routes ---


def count_field(body: dict, name: str = "count") -> int:
    value = body.get(name, 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise invalid(f"{name} must be an integer from 0 to 1000.")
    return value


@standin.get("/health")
def health() -> Response:
    return answer({"status": "ok"})


@standin.get("/messages")
def messages() -> Response:
    to = request.args.get("to")
    digits = re.sub(r"\D", "", to) if to is not None else None
    return answer({"items": store().listed(digits)})


@standin.delete("/messages")
def forget() -> Response:
    store().clear()
    return Response(status=204)


@standin.post("/fail_next")
def fail_next() -> Response:
    body = json_object()
    status, code = body.get("status"), body.get("code")
    if isinstance(status, bool) or isinstance(code, bool):
        raise invalid("status must be 400, 429, 500 or 503.")
    if status == 400:
        if code not in THROTTLED_400:
            raise invalid(f"code must be one of {sorted(THROTTLED_400)} with status 400.")
    elif status not in FAILURES:
        raise invalid("status must be 400, 429, 500 or 503.")
    else:
        code = FAILURES[status][0]
    count = count_field(body)
    to = body.get("to")
    if to is not None:
        to = phone_digits(text_field(to, "to"))
    store().fail_next((status, code), count, to)
    return answer({"status": status, "code": code, "count": count, "to": to})


@standin.post("/webhooks/drop")
def drop() -> Response:
    count = count_field(json_object())
    store().drop_next(count)
    return answer({"count": count})


@standin.post("/messages/<message_id>/status")
def send_status(message_id: str) -> Response:
    message = store().get(message_id)
    if message is None:
        raise GraphError(404, f"No message {message_id}", 100, details="message_id")
    body = json_object()
    status = body.get("status")
    if status not in STATUSES:
        raise invalid("status must be sent, delivered, read or failed.")
    age = body.get("age_s", 0)
    if isinstance(age, bool) or not isinstance(age, int) or age < 0:
        raise invalid("age_s must be a non-negative integer.")
    timestamp = int(time.time()) - age
    hook = store().webhook(message, status, timestamp)
    answered = dispatcher().send(hook, status_payload(message, status, timestamp))
    return answer({"status": answered})


def register(app: Flask) -> None:
    app.add_url_rule(
        "/<version>/<phone_number_id>/messages", view_func=send_message, methods=["POST"]
    )
    app.add_url_rule(
        "/<phone_number_id>/messages",
        endpoint="send_unversioned",
        view_func=send_message,
        methods=["POST"],
    )
    app.register_blueprint(standin)
    app.register_error_handler(GraphError, graph_error)

    @app.errorhandler(404)
    def unknown_route(_error: Exception) -> Response:
        return graph_error(GraphError(404, f"Unknown path components: {request.path}", 2500))

    @app.errorhandler(405)
    def wrong_method(_error: Exception) -> Response:
        return graph_error(
            GraphError(
                405,
                f"Unsupported {request.method.lower()} request.",
                100,
                type="GraphMethodException",
            )
        )
