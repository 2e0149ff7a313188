"""Request and response bodies of the notifications API: `to` is always masked."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.kit import Filter, Id, PageArgs, sort_field

from .models import CHANNELS, STATUSES, TEMPLATES
from .notifications import mask


class NotificationSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    channel = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"enum": list(CHANNELS), "description": "Chosen when sent; null while queued"},
    )
    to = fields.Function(
        lambda notification: mask(notification.to),
        dump_only=True,
        allow_none=True,
        metadata={"description": "Masked: +55 11 9****-5678, or a***@example.com"},
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
