"""marshmallow fields the services share."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from marshmallow import ValidationError, fields


class Email(fields.String):
    """An address checked by email-validator (syntax only, no DNS) and stored lower-cased."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > 254:
            raise ValidationError("Longer than 254 characters.")
        try:
            checked = validate_email(raw, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError("Not a valid email address.") from exc
        return checked.normalized.lower()


class Money(fields.Decimal):
    """NUMERIC(12,2): a decimal string with two places out ("30.25"); a string or a JSON number
    in. More than two places, NaN, infinities and values past 12 digits are refused."""

    MAX = Decimal("9999999999.99")
    # How OpenAPI shows it (the kit registers the field as string/decimal): what is sent back.
    DESCRIPTION = "A decimal string with two places; a JSON number is also accepted on input."

    def __init__(self, *, minimum: Decimal = Decimal("0"), exclusive_minimum=False, **kwargs):
        metadata = kwargs["metadata"] = dict(kwargs.get("metadata") or {})
        metadata.setdefault("example", "30.25")
        metadata.setdefault(
            "pattern", r"^\d{1,10}\.\d{2}$" if minimum >= 0 else r"^-?\d{1,10}\.\d{2}$"
        )
        metadata["description"] = " ".join(
            filter(None, (metadata.get("description"), self.DESCRIPTION))
        )
        super().__init__(places=None, as_string=True, allow_nan=False, **kwargs)
        self.minimum = minimum
        self.exclusive_minimum = exclusive_minimum

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid amount.")
        try:
            amount = super()._deserialize(value, attr, data, **kwargs)
        except (InvalidOperation, TypeError) as exc:
            raise ValidationError("Not a valid amount.") from exc
        if amount.as_tuple().exponent < -2:
            raise ValidationError("At most two decimal places.")
        if amount > self.MAX:
            raise ValidationError(f"Must be at most {self.MAX}.")
        if amount < self.minimum or (self.exclusive_minimum and amount == self.minimum):
            word = "greater than" if self.exclusive_minimum else "at least"
            raise ValidationError(f"Must be {word} {self.minimum}.")
        return amount.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return format(Decimal(value).quantize(Decimal("0.01")), "f")
