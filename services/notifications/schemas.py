"""Request and response bodies of the notifications API: `to` is always masked."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.kit import Filter, Id, PageArgs, sort_field

from .models import CHANNELS, STATUSES, TEMPLATES
from .notifications import mask


class NotificationSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    # A choice that may be null: apispec lists null in the enum too (OpenAPI 3.0 reads
    # `nullable` with an `enum` as allowing only what the enum lists).
    channel = fields.String(
        dump_only=True,
        allow_none=True,
        validate=validate.OneOf(CHANNELS),
        metadata={
            "description": "Chosen when it is sent, from the client's contact then: null while "
            "queued (a retried one too, until the sender takes it)",
        },
    )
    to = fields.Function(
        lambda notification: mask(notification.to),
        dump_only=True,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "Masked: +55 11 9****-5678, or a***@example.com; null while queued, "
            "as `channel`",
        },
    )
    template = fields.String(dump_only=True, metadata={"enum": list(TEMPLATES.values())})
    order_id = fields.Integer(dump_only=True)
    client_id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    error = fields.String(dump_only=True, allow_none=True)
    attempts = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class NotificationListArgs(PageArgs):
    client_id = Id(strict=False)
    order_id = Id(strict=False)
    channel = Filter(choices=CHANNELS)
    status = Filter(choices=STATUSES)
    template = Filter(choices=tuple(TEMPLATES.values()))
    sort = sort_field("created_at", default="-created_at")
