"""The notifications API (admins: list, read, retry a failed one) and WhatsApp's status webhooks
(public: the handshake's verify token and the signature on the raw body are their only
credentials)."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from services.kit import BadRequest, Blueprint, Forbidden, Unauthorized, page_schema, paginate
from services.kit.web import MAX_JSON_DEPTH, TooDeep, shallow_json

from . import notifications, whatsapp
from .models import Notification, db
from .schemas import NotificationListArgs, NotificationSchema

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/notifications",
    description="Messages to clients about their orders (WhatsApp or e-mail), to delivery",
)


@blp.route("")
class NotificationList(MethodView):
    @blp.login_required("admin")
    @blp.arguments(NotificationListArgs, location="query")
    @blp.response(200, page_schema(NotificationSchema))
    def get(self, args):
        """List notifications (admin); filters `client_id`, `order_id`, `channel`, `status`,
        `template`; newest first."""
        sortable = {"created_at": Notification.created_at}
        return paginate(db, notifications.search(args), args, sortable, Notification.id)


@blp.route("/<int:notification_id>")
class NotificationResource(MethodView):
    @blp.login_required("admin")
    @blp.response(200, NotificationSchema)
    @blp.problem(404, "No such notification")
    def get(self, notification_id):
        """One notification (admin)."""
        return notifications.get_notification(notification_id)


@blp.route("/<int:notification_id>/retry")
class NotificationRetry(MethodView):
    @blp.login_required("admin")
    @blp.response(200, NotificationSchema)
    @blp.problem(404, "No such notification")
    @blp.problem(409, "The notification has not failed")
    def post(self, notification_id):
        """Queue a failed notification again (admin): the sender sends it anew, to the client's
        channel as it is then, so it is answered `queued` with `channel` and `to` null until
        it is sent."""
        return notifications.retry(notification_id)


WEBHOOK_BODY = {
    "required": True,
    "description": "WhatsApp's status event, exactly as Meta signed it",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
SIGNATURE_HEADER = {
    "in": "header",
    "name": "X-Hub-Signature-256",
    "required": True,
    "schema": {"type": "string", "maxLength": 100},
    "description": "sha256=<hex HMAC-SHA256 of the raw body with the app secret>",
}
HANDSHAKE = [
    {"in": "query", "name": name, "required": True, "schema": {"type": "string", "maxLength": 500}}
    for name in ("hub.mode", "hub.verify_token", "hub.challenge")
]


@blp.route("/webhooks/whatsapp")
class WhatsAppWebhook(MethodView):
    @blp.doc(
        parameters=HANDSHAKE,
        security=[],
        responses={
            "200": {
                "description": "The challenge, as it came",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    @blp.problem(400, "No challenge")
    @blp.problem(403, "Not a subscribe request with our verify token")
    def get(self):
        """Meta's verification handshake: `hub.mode=subscribe` and our verify token answer
        `hub.challenge` as text/plain."""
        mode = request.args.get("hub.mode")
        if mode != "subscribe" or not whatsapp.verify_token_ok(
            request.args.get("hub.verify_token")
        ):
            raise Forbidden("The verify token does not match")
        challenge = request.args.get("hub.challenge", "")
        if not challenge or len(challenge) > 500:
            raise BadRequest("hub.challenge is missing or too long")
        return Response(challenge, status=200, mimetype="text/plain")

    @blp.response(200, description="Applied, or a status already seen, or an unknown message")
    @blp.doc(parameters=[SIGNATURE_HEADER], requestBody=WEBHOOK_BODY, security=[])
    @blp.problem(400, f"Signed, but not a JSON object, or nested deeper than {MAX_JSON_DEPTH}")
    @blp.problem(401, "A missing or bad signature; nothing changed")
    def post(self):
        """Message statuses (public: authenticated only by `X-Hub-Signature-256` over the raw
        body): sent → delivered → read, or failed; each (message, status) applied once, never
        backwards."""
        body = request.get_data(cache=False)
        if not whatsapp.signature_ok(body, request.headers.get("X-Hub-Signature-256")):
            raise Unauthorized("The X-Hub-Signature-256 signature does not match")
        try:
            event = shallow_json(body)
        except TooDeep as exc:
            raise BadRequest(f"The body {exc}") from None
        except ValueError as exc:
            raise BadRequest("The body is not JSON") from exc
        if not isinstance(event, dict):
            raise BadRequest("The body is not a JSON object")
        return {"applied": notifications.apply_statuses(event)}
