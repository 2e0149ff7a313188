"""Request and response bodies of the orders API."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from services.kit import (
    Answer,
    Filter,
    Id,
    PageArgs,
    QueryArgs,
    ShortageProblemSchema,
    sort_field,
)
from services.kit.fields import CONTROL, MAX_DATE, MAX_DATETIME, Money, Text, TimeZone

from .models import EXTERNAL_REF_MAX, PAYMENT_METHODS, STATUSES

MAX_QUANTITY = 1_000_000
MAX_LINES = 100
GROUPS = ("day", "product", "client", "category")


class LineSchema(Schema):
    """A line as the buyer asks for it; the rest is copied from the catalogue."""

    product_id = Id(required=True, metadata={"example": 12})
    quantity = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, max=MAX_QUANTITY),
        metadata={"example": 2},
    )


class OrderItemSchema(LineSchema):
    product_name = fields.String(dump_only=True, metadata={"example": "Teclado mecânico ABNT2"})
    category_id = fields.Integer(dump_only=True, allow_none=True, metadata={"example": 3})
    unit_price = Money(dump_only=True)
    line_total = Money(dump_only=True, metadata={"example": "60.50"})


class HistorySchema(Answer):
    status = fields.String(metadata={"example": "paid"})
    at = fields.DateTime()
    by = fields.Method(
        "_by",
        metadata={
            "description": "Who made the change: the user's id (an integer), or the name of the "
            'service that made it on its own (a string: "payments" when a payment succeeded or '
            "a PIX expired)",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
            "example": 1,
        },
    )
    note = fields.String(allow_none=True)

    def _by(self, event):
        return event.by_service if event.by_service is not None else event.by


def merged(lines: list[dict]) -> dict[int, int]:
    """Lines of the same product add up: an order holds one line per product."""
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line["product_id"]] = wanted.get(line["product_id"], 0) + line["quantity"]
    return wanted


def _adding_up_to_a_quantity(lines: list[dict]) -> None:
    """Lines of one product add up to one line, held to a line's bound too."""
    added = merged(lines)
    over = [product_id for product_id, quantity in added.items() if quantity > MAX_QUANTITY]
    if over:
        raise ValidationError(
            f"The lines of product {over[0]} add up to {added[over[0]]}: "
            f"at most {MAX_QUANTITY} of a product."
        )


def _lines(**kwargs):
    return fields.List(
        fields.Nested(OrderItemSchema),
        validate=[validate.Length(min=1, max=MAX_LINES), _adding_up_to_a_quantity],
        metadata={
            "description": "A product may appear once; lines of the same product add up, to "
            "at most 1000000 units as one line"
        },
        **kwargs,
    )


def _printable(value: str) -> None:
    """What `Text` lets through that is not printable either (Unicode's format, private-use,
    unassigned, surrogate and separator characters but the plain space: a zero-width space, a
    no-break space), so that two references that look alike are the same reference. `Text`
    names the control characters itself."""
    if not all(char.isprintable() or CONTROL.match(char) for char in value):
        raise ValidationError(
            "Printable characters only: no invisible, format or private-use characters, and no "
            "space but the plain one."
        )


class ExternalRef(Text):
    """An order's reference in the system that placed it: `Text` of 1 to EXTERNAL_REF_MAX
    characters (its ends' spaces dropped, composed), every one printable."""

    def __init__(self, **kwargs):
        super().__init__(EXTERNAL_REF_MAX, **kwargs)
        self.validators.append(_printable)


class ShippedToSchema(Answer):
    state = fields.String(metadata={"example": "SP"})
    city = fields.String(metadata={"example": "São Paulo"})
    street = fields.String(metadata={"example": "Avenida Paulista"})
    number = fields.String(metadata={"example": "1578"})
    complement = fields.String(allow_none=True, metadata={"example": "Apto 12"})
    cep = fields.String(metadata={"example": "01310-200"})


class OrderSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 101})
    client_id = Id(required=True, metadata={"example": 42})
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    items = _lines(required=True)
    total = Money(dump_only=True, metadata={"example": "60.50"})
    payment_id = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "The payment that paid it (payments'); null while unpaid, when an "
            "admin marked it paid by hand, or when it was paid before orders recorded it",
            "example": 55,
        },
    )
    refunded_amount = Money(
        dump_only=True,
        metadata={
            "description": "What went back of the payment that paid it (0.00: nothing, or paid "
            "by an admin's hand, or before orders recorded its payment); all of the total: it "
            "does not ship",
            "example": "0.00",
        },
    )
    shipping_address_id = Id(
        load_default=None,
        allow_none=True,
        metadata={"description": "One of the client's addresses", "example": 7},
    )
    shipped_to = fields.Nested(
        ShippedToSchema,
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Where it shipped: its address as clients gave it when it shipped "
            "(an address edited later does not move it); null before, without an address, when "
            "clients could not say then, or once its client was deleted"
        },
    )
    payment_method = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(PAYMENT_METHODS),
        metadata={
            "description": "As placed; once payments pays the order, how it was paid: pix, or "
            "for a card the card the order named, else credit_card (payments does not tell "
            "credit from debit)"
        },
    )
    external_ref = ExternalRef(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The order's id in the system that placed it (a marketplace's), 1 to "
            f"{EXTERNAL_REF_MAX} printable characters, the spaces at its ends dropped; optional, "
            "set when placed and never changed. No two orders have the same one (exact, case "
            "and all): placing another with it is a 409 naming `existing_order_id`",
            "example": "mercadolivre:2000008123456789",
        },
    )
    created_by = fields.Integer(dump_only=True, metadata={"description": "Who placed it"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    history = fields.List(fields.Nested(HistorySchema), dump_only=True)


class OrderPatchSchema(Schema):
    """What may change while the order is pending: the lines, the address, how it is paid."""

    items = _lines()
    shipping_address_id = Id(allow_none=True)
    payment_method = fields.String(allow_none=True, validate=validate.OneOf(PAYMENT_METHODS))

    @validates_schema
    def something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("Give items, shipping_address_id or payment_method.")


class StatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class StatusConflictProblemSchema(ShortageProblemSchema):
    """A step refused: the problem says the status the order is in, so a retry whose first try
    went through (its answer lost) tells so without reading `detail`."""

    detail = fields.String(
        required=True, metadata={"example": "An order that is paid cannot become paid"}
    )
    current_status = fields.String(
        required=True,
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": "The order's status as the refusal found it (unchanged by it)",
            "example": "paid",
        },
    )


class PlacingConflictProblemSchema(ShortageProblemSchema):
    """POST /orders' 409s: a shortage (`short`), a reused Idempotency-Key (`key_reused`), or an
    external reference another order has (`external_ref`, `existing_order_id`)."""

    external_ref = fields.String(
        metadata={
            "description": "Only when the reference is taken: the reference, as stored",
            "example": "mercadolivre:2000008123456789",
        }
    )
    existing_order_id = fields.Integer(
        metadata={
            "description": "Only when the reference is taken: the order that has it "
            "(GET /orders/{existing_order_id}); while an order under the reference is still "
            "being placed the answer is a 503 to ask again, never a 409 naming it",
            "example": 101,
        }
    )


class OrderListArgs(PageArgs):
    id = Id(strict=False)
    client_id = Id(strict=False)
    external_ref = Filter(
        max_length=EXTERNAL_REF_MAX,
        metadata={
            "description": "The order with this external reference (exact; the spaces at its "
            "ends dropped, as when placed)"
        },
    )
    status = DelimitedList(
        Filter(choices=STATUSES),
        metadata={"description": "One status, or several comma-separated (pending,paid,shipped)"},
    )
    category_id = Id(
        strict=False, metadata={"description": "Orders with any line in this category"}
    )
    product_id = Id(strict=False, metadata={"description": "Orders with any line of this product"})
    shipping_address_id = Id(
        strict=False, metadata={"description": "Orders shipping to this address"}
    )
    # Aware (a time without an offset is UTC), so the two always compare, with each other and
    # with the stored timestamps.
    created_from = fields.AwareDateTime(
        default_timezone=UTC,
        metadata={"description": "Created at or after (ISO 8601)", "maxLength": MAX_DATETIME},
    )
    created_to = fields.AwareDateTime(
        default_timezone=UTC,
        metadata={"description": "Created before (ISO 8601)", "maxLength": MAX_DATETIME},
    )
    sort = sort_field("created_at", "total", default="-created_at")

    @validates_schema
    def a_range_that_can_match(self, data, **kwargs):
        low, high = data.get("created_from"), data.get("created_to")
        if low and high and high < low:
            raise ValidationError("Must not be before created_from.", "created_to")


class SalesArgs(QueryArgs):
    date_from = fields.Date(
        data_key="from",
        metadata={"description": "First day (inclusive)", "maxLength": MAX_DATE},
    )
    date_to = fields.Date(
        data_key="to", metadata={"description": "Last day (inclusive)", "maxLength": MAX_DATE}
    )
    group_by = Filter(choices=GROUPS, required=True)
    tz = TimeZone(
        metadata={
            "description": "The time zone whose days `from`, `to` and group_by=day are (IANA); "
            "default UTC",
            "example": "America/Sao_Paulo",
        }
    )

    @validates_schema
    def a_period_that_can_match(self, data, **kwargs):
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            raise ValidationError("Must not be before from.", "to")


class SalesRowSchema(Answer):
    key = fields.Raw(
        metadata={"description": "The day (YYYY-MM-DD) or the product, client or category id"}
    )
    label = fields.String(
        allow_none=True,
        metadata={
            "description": "The product's, client's or category's name; null for a day, or for "
            "one its service cannot name now (gone, or not answering)"
        },
    )
    units = fields.Integer(metadata={"example": 12})
    revenue = Money(metadata={"example": "1250.00"})
    orders = fields.Integer(metadata={"example": 5})
    refunded = Money(
        allow_none=True,
        metadata={
            "description": "What went back of these orders' payments; null by product or "
            "category (a refund is of an order's payment, not of its lines)",
            "example": "50.00",
        },
    )
    net = Money(
        allow_none=True,
        metadata={"description": "revenue - refunded; null when refunded is", "example": "1200.00"},
    )


class SalesTotalsSchema(Answer):
    units = fields.Integer(metadata={"example": 40})
    revenue = Money(metadata={"example": "4100.00"})
    orders = fields.Integer(metadata={"example": 18})
    refunded = Money(
        metadata={"description": "What went back of the orders' payments", "example": "150.00"}
    )
    net = Money(metadata={"description": "revenue - refunded", "example": "3950.00"})


class SalesReportSchema(Answer):
    group_by = fields.String()
    date_from = fields.Date(data_key="from", allow_none=True)
    date_to = fields.Date(data_key="to", allow_none=True)
    tz = fields.String(metadata={"description": "The time zone of the days", "example": "UTC"})
    statuses = fields.List(fields.String(), metadata={"description": "The statuses that count"})
    items = fields.List(fields.Nested(SalesRowSchema))
    totals = fields.Nested(SalesTotalsSchema, metadata={"description": "All the rows together"})


class KpiArgs(QueryArgs):
    date_from = fields.Date(
        data_key="from",
        metadata={
            "description": "First day (inclusive, in `tz`); default 29 days before `to`",
            "maxLength": MAX_DATE,
        },
    )
    date_to = fields.Date(
        data_key="to",
        metadata={
            "description": "Last day (inclusive, in `tz`); default today",
            "maxLength": MAX_DATE,
        },
    )
    tz = TimeZone(
        metadata={
            "description": "The time zone whose days the period and `by_day` are (IANA); "
            "default UTC",
            "example": "America/Sao_Paulo",
        }
    )


class Rate(fields.String):
    """A share from 0 to 1, computed to four places: a decimal string out ("0.1250")."""

    def __init__(self, **kwargs):
        pattern = r"^[01]\.\d{4}$"
        kwargs["metadata"] = {"example": "0.1250", "pattern": pattern, **kwargs["metadata"]}
        super().__init__(**kwargs)


class DaySchema(Answer):
    date = fields.Date()
    gmv = Money(metadata={"example": "1250.00"})
    orders = fields.Integer(metadata={"example": 5})


class TopProductSchema(Answer):
    product_id = fields.Integer(metadata={"example": 12})
    name = fields.String(
        metadata={
            "description": "Its name in the catalogue as orders last heard it (a product renamed "
            "is shown by its new name), else its name on the period's orders"
        }
    )
    units = fields.Integer(metadata={"example": 30})
    revenue = Money(metadata={"example": "900.00"})


class CategorySalesSchema(Answer):
    category_id = fields.Integer(
        allow_none=True, metadata={"description": "null: lines without a category"}
    )
    name = fields.String(
        allow_none=True,
        metadata={"description": "null when products cannot name it (gone, or down)"},
    )
    units = fields.Integer()
    revenue = Money()


class ClientSalesSchema(Answer):
    client_id = fields.Integer(metadata={"example": 42})
    name = fields.String(
        allow_none=True,
        metadata={"description": "null when clients cannot name it (gone, or down)"},
    )
    gmv = Money()
    orders = fields.Integer()


class StateSalesSchema(Answer):
    state = fields.String(
        allow_none=True,
        metadata={"description": "The shipping address's UF; null: no address", "example": "SP"},
    )
    gmv = Money()
    orders = fields.Integer()


class KpiSchema(Answer):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    tz = fields.String(metadata={"description": "The time zone of the days", "example": "UTC"})
    gmv = Money(
        metadata={"description": "Total of the period's paid, shipped and delivered orders"}
    )
    orders = fields.Integer(metadata={"description": "How many of them", "example": 40})
    refunded = Money(
        metadata={"description": "What went back of those orders' payments", "example": "0.00"}
    )
    net = Money(metadata={"description": "gmv - refunded", "example": "1250.00"})
    average_order_value = Money(metadata={"description": "gmv / orders; 0.00 with none"})
    units = fields.Integer(metadata={"description": "Units on their lines", "example": 95})
    cancellation_rate = Rate(
        metadata={"description": "Cancelled orders of all the orders placed in the period"}
    )
    new_clients = fields.Integer(
        metadata={"description": "Clients whose first order (any status) is in the period"}
    )
    repeat_client_rate = Rate(
        metadata={"description": "Of the clients who bought in the period, those with 2 or more"}
    )
    by_day = fields.List(
        fields.Nested(DaySchema), metadata={"description": "Every day of the period"}
    )
    top_products = fields.List(
        fields.Nested(TopProductSchema), metadata={"description": "The 10 most units sold"}
    )
    by_category = fields.List(fields.Nested(CategorySalesSchema))
    by_client = fields.List(
        fields.Nested(ClientSalesSchema), metadata={"description": "The 10 of highest GMV"}
    )
    by_state = fields.List(fields.Nested(StateSalesSchema))
