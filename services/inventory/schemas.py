"""Request and response bodies of the inventory API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.kit import Id, PageArgs, sort_field
from services.kit.fields import FlagFilter

from .models import MANUAL_REASONS, REASONS

MAX_QUANTITY = 1_000_000_000
MAX_LINES = 100


def _quantity(minimum: int, **kwargs):
    return fields.Integer(
        strict=True, validate=validate.Range(min=minimum, max=MAX_QUANTITY), **kwargs
    )


class StockSchema(Schema):
    product_id = fields.Integer(dump_only=True, metadata={"example": 12})
    on_hand = fields.Integer(dump_only=True, metadata={"example": 25})
    reserved = fields.Integer(dump_only=True, metadata={"example": 3})
    available = fields.Integer(
        dump_only=True, metadata={"example": 22, "description": "on_hand - reserved"}
    )
    reorder_level = _quantity(
        0,
        required=True,
        metadata={"example": 5, "description": "At or below it, the product is low on stock"},
    )
    updated_at = fields.DateTime(dump_only=True)


class StockListArgs(PageArgs):
    product_id = Id(strict=False)
    low = FlagFilter(metadata={"description": "true: available <= reorder_level"})
    sort = sort_field("product_id", "available", "updated_at", default="product_id")


class MovementSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    product_id = fields.Integer(dump_only=True, metadata={"example": 12})
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=[
            validate.Range(min=-MAX_QUANTITY, max=MAX_QUANTITY),
            validate.NoneOf([0], error="Must not be 0."),
        ],
        metadata={"example": 10, "description": "Signed: positive adds, negative removes"},
    )
    reason = fields.String(
        dump_only=True,
        metadata={
            "enum": list(REASONS),
            "description": "Why the stock moved: an admin's receipt, adjustment, return or "
            "damage, or a `sale`, which only committing a reservation (an order shipped) writes",
        },
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    on_hand_after = fields.Integer(
        dump_only=True, metadata={"example": 35, "description": "on_hand after this movement"}
    )
    created_by = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "The user who moved it"}
    )
    created_at = fields.DateTime(dump_only=True)


class NewMovementSchema(MovementSchema):
    """A movement an admin records: every reason but `sale`, which only the ledger writes."""

    reason = fields.String(
        required=True,
        validate=validate.OneOf(MANUAL_REASONS),
        metadata={"description": "receipt, adjustment, return or damage"},
    )


class MovementListArgs(PageArgs):
    sort = sort_field("created_at", default="-created_at")


class ReservationItemSchema(Schema):
    product_id = Id(required=True, metadata={"example": 12})
    quantity = _quantity(1, required=True, metadata={"example": 2})


class ReservationSchema(Schema):
    order_id = Id(required=True, metadata={"example": 101})
    items = fields.List(
        fields.Nested(ReservationItemSchema),
        required=True,
        metadata={
            "description": "Empty only for an order abandoned before it reserved: its "
            "reservation is `released` and never held anything"
        },
    )
    status = fields.String(
        dump_only=True,
        metadata={"enum": ["reserved", "released", "committed"], "example": "reserved"},
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class NewReservationSchema(ReservationSchema):
    """What orders asks to reserve: at least one line."""

    items = fields.List(
        fields.Nested(ReservationItemSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_LINES),
    )


class ReservationLinesSchema(Schema):
    items = fields.List(
        fields.Nested(ReservationItemSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_LINES),
    )


class HoldingSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 3})
    client_id = fields.Integer(dump_only=True, metadata={"example": 42})
    product_id = Id(required=True, metadata={"example": 12})
    product_name = fields.String(dump_only=True, metadata={"example": "Teclado mecânico ABNT2"})
    quantity = _quantity(1, required=True, metadata={"example": 1})
    acquired_at = fields.DateTime(dump_only=True)


class HoldingListArgs(PageArgs):
    sort = sort_field("acquired_at", default="-acquired_at")
