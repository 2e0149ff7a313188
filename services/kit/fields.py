"""marshmallow fields the services share."""

from __future__ import annotations

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
