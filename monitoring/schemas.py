"""The JSON the status API answers, and its query arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kit import Answer, Filter, PageArgs, QueryArgs
from services.kit.fields import MAX_DATETIME

STATES = ("unknown", "up", "degraded", "down")

Uptime = Answer.from_dict(
    {
        label: fields.Float(allow_none=True, metadata={"example": 99.95})
        for label in ("24h", "7d", "30d")
    },
    name="Uptime",
)
Observed = Answer.from_dict(
    {label: fields.Float(metadata={"example": 14754.0}) for label in ("24h", "7d", "30d")},
    name="Observed",
)
Latency = Answer.from_dict(
    {
        "p50": fields.Float(allow_none=True, metadata={"example": 12.5}),
        "p95": fields.Float(allow_none=True, metadata={"example": 48.0}),
    },
    name="Latency",
)


class RootCauseSchema(Answer):
    id = fields.Integer(allow_none=True, metadata={"description": "The root cause's incident"})
    target = fields.String(metadata={"example": "postgres"})


class DeliverySchema(Answer):
    event = fields.String(validate=validate.OneOf(("incident.opened", "incident.closed")))
    channel = fields.String(validate=validate.OneOf(("webhook", "email")))
    outcome = fields.String(
        validate=validate.OneOf(("delivered", "given_up", "dropped")),
        metadata={
            "description": "`given_up` after its tries or a refusal for good; `dropped` when the "
            "worker stopped before trying"
        },
    )
    at = fields.DateTime()


class IncidentSchema(Answer):
    id = fields.Integer(metadata={"example": 3})
    target = fields.String(metadata={"example": "clients"})
    state = fields.String(validate=validate.OneOf(("open", "closed")))
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    duration_s = fields.Float(metadata={"description": "Until now while it is open"})
    first_failing_step = fields.String(allow_none=True, metadata={"example": "direct"})
    error = fields.String(allow_none=True, metadata={"example": "connection refused or reset"})
    root_cause = fields.Nested(
        RootCauseSchema,
        allow_none=True,
        metadata={"description": "A failing dependency this incident is blamed on"},
    )
    notified = fields.Boolean(
        metadata={
            "description": "Announced: not held back as a consequence of another incident (its "
            "root cause's incident, while that is open). What reached anyone is `deliveries`"
        }
    )
    deliveries = fields.List(
        fields.Nested(DeliverySchema),
        metadata={"description": "What the webhook and the e-mail made of each notification"},
    )


def last_error_field() -> fields.String:
    return fields.String(
        allow_none=True,
        metadata={
            "description": "What the last check found wrong: why it failed, or why a success is "
            "not whole (a copy silent); null when it found nothing",
            "example": "connection refused or reset",
        },
    )


def last_step_field() -> fields.String:
    return fields.String(
        allow_none=True,
        metadata={"description": "The step `last_error` is about", "example": "direct"},
    )


class TargetSummarySchema(Answer):
    name = fields.String(metadata={"example": "clients"})
    kind = fields.String(metadata={"example": "pair"})
    state = fields.String(validate=validate.OneOf(STATES))
    last_checked_at = fields.DateTime(allow_none=True)
    last_error = last_error_field()
    last_step = last_step_field()
    uptime = fields.Nested(
        Uptime, metadata={"description": "Percent of the observed time, by window"}
    )
    observed_s = fields.Nested(
        Observed,
        metadata={
            "description": "Seconds of each window the worker observed (it was running); the "
            "uptime is over these alone"
        },
    )
    latency_ms = fields.Nested(Latency, metadata={"description": "Over the last 24 hours"})


class WorkerSchema(Answer):
    last_heartbeat_at = fields.DateTime(allow_none=True)
    stale = fields.Boolean(
        metadata={
            "description": "No heartbeat for over 30 seconds (or none yet): the states and "
            "incidents are the last the worker wrote, not what is true now"
        }
    )


class SummaryArgs(QueryArgs):
    """None: an unknown parameter is a 422 naming it, as on the other routes."""


class SummarySchema(Answer):
    targets = fields.List(fields.Nested(TargetSummarySchema))
    incidents_open = fields.List(fields.Nested(IncidentSchema))
    worker = fields.Nested(WorkerSchema)


# Windows are computed by date arithmetic: keep them far from the ends of the calendar.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)
# The longest series one request reads (a point a day at most 400 points; the rollups a year and
# a bit): a longer one is a 422 naming `from`.
MAX_SPAN_DAYS = 400


class SeriesArgs(QueryArgs):
    from_ = fields.AwareDateTime(
        data_key="from",
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={
            "description": "ISO 8601 with offset, before `to` and at most "
            f"{MAX_SPAN_DAYS} days before it; 24 hours before `to`",
            "maxLength": MAX_DATETIME,
        },
    )
    to = fields.AwareDateTime(
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={"description": "ISO 8601 with offset; now", "maxLength": MAX_DATETIME},
    )
    resolution = Filter(
        choices=("minute", "hour", "day"),
        metadata={
            "description": (
                "Chosen from the span when absent, never finer than what is still kept at"
                " `from` (minutes 8 days, hours 90); one asked for that is no longer kept"
                " there is a 422 naming it"
            )
        },
    )

    @validates_schema
    def from_before_to(self, data, **kwargs):
        if "from_" not in data:
            return
        end = data.get("to", datetime.now(UTC))
        if data["from_"] >= end:
            raise ValidationError("Must come before `to` (now when it is absent).", "from")
        if end - data["from_"] > timedelta(days=MAX_SPAN_DAYS):
            raise ValidationError(
                f"At most {MAX_SPAN_DAYS} days before `to` (now when it is absent).", "from"
            )


class PointSchema(Answer):
    at = fields.DateTime()
    checks = fields.Integer()
    failures = fields.Integer()
    uptime = fields.Float(allow_none=True)
    p50 = fields.Float(allow_none=True)
    p95 = fields.Float(allow_none=True)


class SeriesSchema(Answer):
    name = fields.String(metadata={"example": "clients"})
    kind = fields.String(metadata={"example": "pair"})
    state = fields.String(validate=validate.OneOf(STATES))
    last_error = last_error_field()
    last_step = last_step_field()
    from_ = fields.DateTime(data_key="from")
    to = fields.DateTime()
    resolution = fields.String(metadata={"example": "hour"})
    uptime = fields.Float(allow_none=True, metadata={"description": "Over the whole span"})
    latency_ms = fields.Nested(Latency, metadata={"description": "Over the whole span"})
    points = fields.List(fields.Nested(PointSchema))


class IncidentListArgs(PageArgs):
    target = Filter(max_length=40)
    state = Filter(choices=("open", "closed"))


class IncidentPageSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
