"""Request and response bodies of the collector API."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from flask import current_app
from marshmallow import ValidationError, fields, validate, validates
from parsel import Selector

from services.kit import Answer, ChangeSchema, Filter, Id, PageArgs, ProblemSchema, sort_field
from services.kit.fields import Flag, FlagFilter, Text

from .cron import cron_trigger
from .extract import FIELDS, select
from .fetching import Refused, check_literal_address
from .models import MAX_URL_LENGTH, STATUSES

MAX_START_URLS = 20


class Url(fields.String):
    """An absolute http(s) URL with a host. A host that is an IP address is refused here as the
    fetcher would refuse it (private, loopback..., unless in COLLECTOR_ALLOWED_PRIVATE_HOSTS); a
    host name is checked when it is fetched, since what it resolves to can change."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(min=1, max=MAX_URL_LENGTH), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            parts = urlsplit(value)
            host, _port = parts.hostname, parts.port
        except ValueError as exc:  # an unclosed IPv6 bracket, a port that is not a number
            raise ValidationError("An absolute http or https URL.") from exc
        if parts.scheme not in ("http", "https") or not host:
            raise ValidationError("An absolute http or https URL.")
        if parts.username or parts.password:
            raise ValidationError("A URL without credentials.")
        allowed = frozenset(current_app.config["COLLECTOR_ALLOWED_PRIVATE_HOSTS"])
        try:
            check_literal_address(host, allowed)
        except Refused as exc:
            raise ValidationError(f"{exc}; the collector does not fetch it.") from exc
        return value


def check_delay(value: Decimal) -> None:
    if not 0 <= value <= 3600:
        raise ValidationError("Must be between 0 and 3600 seconds.")
    # Refused, not rounded: 3600.004 is not a delay the source would keep.
    if value.as_tuple().exponent < -2:
        raise ValidationError("At most two decimal places.")


def check_cron(value: str) -> None:
    try:
        cron_trigger(value)
    except Exception as exc:  # ours, or what APScheduler's field parsers raise
        raise ValidationError(
            "A five-field cron expression (minute hour day month weekday)."
        ) from exc


def check_selector(value: str) -> None:
    """Run on a small page as a run would: what compiles may still fail there (`(//h1)[$x]`,
    `//x:h1`, `h1::bogus`) or select no node (`(1+1)`)."""
    page = Selector(text='<html><body><h1 class="x">Nome</h1><a href="/p">1</a></body></html>')
    try:
        select(page, value)
    except Exception as exc:  # lxml, cssselect and parsel each raise their own
        raise ValidationError("Not a valid CSS selector or XPath expression.") from exc


class RunSummarySchema(Answer):
    id = fields.Integer()
    status = fields.String(metadata={"enum": list(STATUSES)})
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class SourceSchema(ChangeSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 3})
    name = Text(120, required=True, metadata={"example": "Loja do Zé"})
    start_urls = fields.List(
        Url(),
        required=True,
        validate=validate.Length(min=1, max=MAX_START_URLS),
        metadata={
            "description": "Where a run starts; links are followed only inside these URLs' "
            "sites (and folders)",
            "example": ["http://127.0.0.1:5092/loja-json/"],
        },
    )
    schedule = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=120), check_cron],
        metadata={"description": "Cron, UTC (`0 3 * * *`); null: only when asked", "example": None},
    )
    max_pages = fields.Integer(
        load_default=100, strict=True, validate=validate.Range(min=1, max=10000)
    )
    delay_s = fields.Decimal(
        load_default=Decimal("1.00"),
        as_string=True,
        # A function, not validate.Range: apispec would write the Decimal bounds into the
        # document as strings ("3600.00"), which is not a valid OpenAPI maximum.
        validate=check_delay,
        # Sent back as a decimal string ("1.00"), like money: documented so.
        metadata={
            "type": "string",
            "format": "decimal",
            "pattern": r"^\d{1,4}\.\d{2}$",
            "description": "Seconds between two requests to the same site, 0 to 3600; "
            "a decimal string with two places (a JSON number is also accepted on input)",
            "example": "1.00",
        },
    )
    category_id = Id(allow_none=True, load_default=None, metadata={"example": None})
    selectors = fields.Dict(
        keys=fields.String(validate=validate.OneOf(FIELDS)),
        values=fields.String(validate=[validate.Length(min=1, max=500), check_selector]),
        load_default=dict,
        metadata={
            "description": "For pages without structured data: CSS or XPath per field "
            f"({', '.join(FIELDS)}); parsel's ::text and ::attr(name) work",
            "example": {"name": "h1.titulo", "price": ".preco", "image": "img.foto::attr(src)"},
        },
    )
    active = Flag(load_default=True)
    last_run = fields.Nested(RunSummarySchema, dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates("start_urls")
    def distinct(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("Each start URL once.")


class SourceListArgs(PageArgs):
    name = Filter(metadata={"description": "Contains, case-insensitive"})
    active = FlagFilter()
    sort = sort_field("name", "created_at", default="name")


class RejectedSchema(Answer):
    url = fields.String()
    reason = fields.String(metadata={"example": "HTTP 500"})


class RunSchema(Answer):
    id = fields.Integer(metadata={"example": 12})
    source_id = fields.Integer(metadata={"example": 3})
    status = fields.String(metadata={"enum": list(STATUSES)})
    scheduled_for = fields.DateTime(
        allow_none=True, metadata={"description": "The cron time that made it; null: asked for"}
    )
    pages_fetched = fields.Integer()
    items_found = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.List(
        fields.Nested(RejectedSchema),
        metadata={"description": "The first 200 pages or products rejected, with the reason"},
    )
    rejected_count = fields.Integer(metadata={"description": "How many were rejected in all"})
    error = fields.String(allow_none=True)
    cancel_requested_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "When an admin asked it to stop (POST /collector/runs/{id}/cancel)"
        },
    )
    cancel_requested_by = fields.Integer(
        allow_none=True, metadata={"description": "The admin who asked it to stop (user id)"}
    )
    queued_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class RunEndedProblemSchema(ProblemSchema):
    """A stop asked of a run that has ended: the problem says how it ended."""

    detail = fields.String(
        required=True,
        metadata={"example": "Run 12 is succeeded: only a queued or running run can be stopped"},
    )
    current_status = fields.String(
        required=True,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "How the run ended", "example": "succeeded"},
    )


class RunListArgs(PageArgs):
    source_id = Id(strict=False)
    status = Filter(choices=STATUSES)
    sort = sort_field("id", default="-id")
