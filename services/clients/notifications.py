"""A client's message history: asked of the notifications service with the caller's own token
(`GET /notifications?client_id=…`), which decides who may read it (admins) and answers the page.
Its refusals (401, 403, 422) are answered as it gave them; a notifications service that is down,
not configured or answering nonsense is a 503."""

from __future__ import annotations

from flask import Response, current_app, jsonify

from services.kit import Unavailable, service
from services.kit.errors import PROBLEM_JSON

# What notifications may refuse a caller with; the caller sees its answer as it is.
PASSED_ON = (401, 403, 422)


def client_notifications(client_id: int, args: dict) -> Response:
    if "notifications" not in current_app.config["SERVICE_URLS"]:
        raise Unavailable("The notifications service is not configured")
    notifications = service("notifications")
    params = {key: value for key, value in args.items() if value is not None}
    params["client_id"] = client_id
    response = notifications.get("/notifications", params=params)
    if response.status_code == 200:
        page = notifications.read(response, _page)
        return jsonify(page)
    if response.status_code in PASSED_ON:
        body = notifications.read(response, _problem)
        answer = jsonify(body)
        answer.status_code = response.status_code
        answer.mimetype = PROBLEM_JSON
        if "WWW-Authenticate" in response.headers:
            answer.headers["WWW-Authenticate"] = response.headers["WWW-Authenticate"]
        return answer
    raise Unavailable(f"The notifications service answered {response.status_code}")


def _page(body) -> dict:
    """The page as notifications answered it, once it is seen to be one."""
    if not isinstance(body["items"], list):
        raise TypeError("items is not a list")
    for key in ("page", "per_page", "total"):
        int(body[key])
    return body


def _problem(body) -> dict:
    if not isinstance(body, dict) or not isinstance(body["status"], int):
        raise TypeError("not a problem")
    return body
