"""Request and response bodies of the payments API."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, post_dump, validate

from services.kit import MAY_BE_ABSENT, Filter, Id, PageArgs, sort_field
from services.kit.fields import FlagFilter, Money

from .models import CURRENCY, METHODS, REVIEW_REASON_MAX, STATUSES

PAYMENT_METHOD_ID = re.compile(r"pm_[A-Za-z0-9_]{1,252}")
# What a card number looks like as typed: 12 to 19 digits, maybe grouped by spaces or dashes.
CARD_NUMBER = re.compile(r"[0-9 -]+")


def payment_method_id(value: str) -> None:
    """A provider payment-method id (`pm_…`), never a card number: one is refused by what it
    is, and no message repeats the value (it would reach logs and answers)."""
    if CARD_NUMBER.fullmatch(value) and 12 <= sum(c.isdigit() for c in value) <= 19:
        raise ValidationError(
            "A card number is never accepted: give the provider's payment-method id (pm_…), "
            "made by its card form."
        )
    if not PAYMENT_METHOD_ID.fullmatch(value):
        raise ValidationError("A provider payment-method id: pm_ and letters, digits or _.")


class PixSchema(Schema):
    qr_code = fields.String(
        metadata={"description": "The BR Code (PIX copia e cola), EMV: 000201…6304XXXX"}
    )
    expires_at = fields.DateTime(metadata={"description": "Unpaid by then, it is canceled"})


class PaymentSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 12})
    order_id = Id(required=True, metadata={"example": 101})
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    payment_method = fields.String(
        load_only=True,
        load_default=None,
        allow_none=True,
        validate=payment_method_id,
        metadata={
            "description": "Card only: the provider's payment-method id, `pm_…` (test mode: "
            "pm_card_visa succeeds, pm_card_chargeDeclined is declined); a card number is a 422",
            "example": "pm_card_visa",
            "pattern": "^pm_[A-Za-z0-9_]{1,252}$",
            "maxLength": 255,
        },
    )
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    amount = Money(dump_only=True, metadata={"description": "The order's total"})
    currency = fields.String(dump_only=True, metadata={"example": CURRENCY})
    provider_ref = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "The provider's PaymentIntent"}
    )
    failure_reason = fields.String(dump_only=True, allow_none=True)
    failure_code = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "The provider's decline code (Stripe's decline_code, else its code): "
            "generic_decline, insufficient_funds, expired_card, …; null unless failed",
            "example": "insufficient_funds",
        },
    )
    received_amount = Money(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "What the provider reports it received, once succeeded (another "
            "amount than `amount` is flagged for review): refunds give back at most this; null "
            "before, or when the provider did not say (refunds then give back at most `amount`)"
        },
    )
    refunded_amount = Money(dump_only=True)
    pix = fields.Method(
        "_pix",
        dump_only=True,
        metadata={"description": "PIX only: a card payment has none", MAY_BE_ABSENT: True},
    )
    needs_review = fields.Boolean(
        dump_only=True,
        metadata={"description": "The provider reported what Feira will not act on by itself"},
    )
    review_reason = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Why it was last flagged: each cause since its last review on a line "
            "of its own, the earliest first (kept once it is reviewed)"
        },
    )
    reviewed_by = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The admin who last marked it reviewed"},
    )
    reviewed_at = fields.DateTime(
        dump_only=True, allow_none=True, metadata={"description": "When it was last reviewed"}
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _pix(self, payment):
        return PixSchema().dump(
            {"qr_code": payment.pix_qr_code, "expires_at": payment.pix_expires_at}
        )

    @post_dump(pass_original=True)
    def pix_only_for_pix(self, data, payment, **kwargs):
        if getattr(payment, "method", None) != "pix":
            data.pop("pix", None)
        return data


class PaymentListArgs(PageArgs):
    order_id = Id(strict=False)
    status = Filter(choices=STATUSES)
    method = Filter(choices=METHODS)
    needs_review = FlagFilter(metadata={"description": "Admins only"})
    sort = sort_field("created_at", default="-created_at")


class RefundSchema(Schema):
    amount = Money(
        minimum=0,
        exclusive_minimum=True,
        load_default=None,
        metadata={"description": "What to give back; all that is left when absent"},
    )


class ReviewedSchema(Schema):
    review_reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=REVIEW_REASON_MAX),
        metadata={
            "description": "The payment's `review_reason` as the admin read it: marked reviewed "
            "only while it is still the reason"
        },
    )
