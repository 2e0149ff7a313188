"""Request and response bodies of the clients API."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import g, has_request_context
from marshmallow import Schema, ValidationError, fields, validate

from services.kit import Answer, ChangeSchema, Filter, PageArgs, Text, sort_field
from services.kit.fields import Composed, Email, Flag, Id, IdList, Money, one_line

from . import phone
from .cpf import normalise

UFS = (
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
    "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
)  # fmt: skip
_CEP = re.compile(r"^[0-9]{5}-?[0-9]{3}$")


class Cpf(fields.String):
    """Accepts `454.090.000-00` or `45409000000`; loads the formatted form."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"maxLength": 14, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return normalise(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class Phone(fields.String):
    """A Brazilian mobile in any usual writing; loads E.164 (`+5511912345678`), or a
    `phone.Masked` for a value with `*` (sent back as it was answered). Dumped as it is for an
    admin, masked (`+55 11 9****-5678`) for anyone else."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"maxLength": 25, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if "*" in raw:
            return phone.Masked(raw)
        try:
            return phone.normalise(raw)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value, attr, obj, **kwargs):
        caller = g.get("caller") if has_request_context() else None
        return phone.shown_to(value, caller.role if caller is not None else None)


class PhoneFilter(Phone):
    """`?phone=`: any writing `Phone` accepts, loaded E.164 to match the stored phone exactly. A
    masked one names no number: refused as any other that is not a mobile."""

    def _deserialize(self, value, attr, data, **kwargs):
        loaded = super()._deserialize(value, attr, data, **kwargs)
        if isinstance(loaded, phone.Masked):
            raise ValidationError(phone.NOT_A_MOBILE)
        return loaded


class Uf(fields.String):
    """A state's UF in any case (`rj`, `Rj`); loads it upper-case. Only ASCII is upper-cased:
    `str.upper` makes `SP` of a long s (U+017F) and a `p`, which is no UF."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        return raw.upper() if raw.isascii() else raw


class Cep(fields.String):
    """Accepts `01310-100` or `01310100`; loads `01310-100`."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs).strip()
        if not _CEP.match(raw):
            raise ValidationError("Must be 8 digits, as 00000-000 or 00000000.")
        digits = raw.replace("-", "")
        return f"{digits[:5]}-{digits[5:]}"


class ClientSchema(ChangeSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 42})
    name = Text(120, required=True, metadata={"example": "Maria da Silva"})
    email = Email(required=True, metadata={"example": "maria@example.com"})
    cpf = Cpf(required=True, metadata={"example": "454.090.000-56"})
    balance = Money(load_default=Decimal("0.00"), metadata={"example": "150.00"})
    phone = Phone(
        load_default=None,
        allow_none=True,
        metadata={
            "example": "+5511912345678",
            "description": "A Brazilian mobile, accepted as (11) 91234-5678, 11912345678 or "
            "+5511912345678; answered E.164 to admins and masked (+55 11 9****-5678) to "
            "others; null clears it. Sent back (PUT, PATCH) exactly as it was answered to the "
            "caller, masked, it keeps the stored phone; any other masked value is a 422. Not "
            "unique: a family may share one.",
        },
    )
    whatsapp_opt_in = Flag(
        load_default=False,
        metadata={
            "description": "Order messages go by WhatsApp (given a phone), else e-mail. "
            "Consent is for a number: a write that changes or clears the phone sets it false "
            "unless it sends it too"
        },
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ClientListArgs(PageArgs):
    ids = IdList(metadata={"description": "Only these ids, comma-separated (≤ 100): a batch read"})
    name = Filter(
        max_length=120,
        metadata={
            "description": "Every word, in any order, somewhere in the name, ignoring accents "
            "and case: `conceicao araujo` finds Maria da Conceição Araújo"
        },
    )
    email = Email(metadata={"description": "Exact, case-insensitive"})
    cpf = Cpf(metadata={"description": "Exact; either form"})
    phone = PhoneFilter(
        metadata={
            "description": "Exact: a Brazilian mobile in any writing the phone field takes, "
            "(11) 91234-5678, 11912345678 or +5511912345678; a masked one is a 422"
        }
    )
    sort = sort_field("name", "created_at", default="name")


class AddressSchema(ChangeSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    client_id = fields.Integer(dump_only=True, metadata={"example": 42})
    state = Uf(
        required=True,
        validate=validate.OneOf(UFS),
        metadata={"example": "SP", "description": "A UF in any case (rj); stored upper-case"},
    )
    city = Text(100, required=True, metadata={"example": "São Paulo"})
    street = Text(200, required=True, metadata={"example": "Avenida Paulista"})
    number = Text(20, required=True, metadata={"example": "1578", "description": "Free text: s/n"})
    complement = Composed(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=100), one_line],
        metadata={"example": "Apto 12"},
    )
    cep = Cep(required=True, metadata={"example": "01310-200"})


class AddressListArgs(PageArgs):
    sort = sort_field("id", default="id")


class FavoriteSchema(Schema):
    client_id = fields.Integer(dump_only=True, metadata={"example": 42})
    product_id = fields.Integer(dump_only=True, metadata={"example": 12})
    created_at = fields.DateTime(dump_only=True)


class FavoriteProductSchema(Answer):
    """A favorite with what the products service says of the product now."""

    product_id = fields.Integer(metadata={"example": 12})
    name = fields.String(metadata={"example": "Teclado mecânico ABNT2"})
    price = Money(metadata={"example": "249.90"})
    active = fields.Boolean(metadata={"description": "false: the product was retired"})
    added_at = fields.DateTime()


class FavoriteListArgs(PageArgs):
    sort = sort_field("created_at", default="-created_at")


class ContactSchema(Schema):
    """What notifications needs to reach a client (the internal contacts route): the phone
    unmasked, E.164, for the service alone."""

    client_id = fields.Integer(attribute="id", metadata={"example": 42})
    name = fields.String(metadata={"example": "Maria da Silva"})
    email = fields.String(metadata={"example": "maria@example.com"})
    phone = fields.String(allow_none=True, metadata={"example": "+5511912345678"})
    whatsapp_opt_in = fields.Boolean()


# As the notifications service has them (API.md, "Notifications").
NOTIFICATION_CHANNELS = ("whatsapp", "email")
NOTIFICATION_STATUSES = ("queued", "sent", "delivered", "read", "failed")
NOTIFICATION_TEMPLATES = (
    "order_paid",
    "order_shipped",
    "order_delivered",
    "order_cancelled",
    "payment_failed",
)


class ClientNotificationSchema(Answer):
    """A message sent to the client, as the notifications service answers it (`to` masked)."""

    id = fields.Integer(metadata={"example": 9})
    # Null while the message is queued: apispec lists null in the enum of a nullable choice.
    channel = fields.String(
        allow_none=True,
        validate=validate.OneOf(NOTIFICATION_CHANNELS),
        metadata={"example": "whatsapp"},
    )
    to = fields.String(allow_none=True, metadata={"example": "+55 11 9****-5678"})
    template = fields.String(metadata={"enum": list(NOTIFICATION_TEMPLATES)})
    order_id = fields.Integer(metadata={"example": 120})
    client_id = fields.Integer(metadata={"example": 42})
    status = fields.String(metadata={"enum": list(NOTIFICATION_STATUSES), "example": "delivered"})
    error = fields.String(allow_none=True)
    attempts = fields.Integer(metadata={"example": 1})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ClientNotificationListArgs(PageArgs):
    """Forwarded as they are to `GET /notifications` (with the client's id)."""

    order_id = Id(strict=False)
    channel = Filter(choices=NOTIFICATION_CHANNELS)
    status = Filter(choices=NOTIFICATION_STATUSES)
    template = Filter(choices=NOTIFICATION_TEMPLATES)
    sort = Filter(
        choices=("created_at", "-created_at"),
        metadata={"description": "created_at or -created_at (notifications' default when absent)"},
    )
