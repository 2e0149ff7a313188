"""Request and response bodies of the clients API."""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from services.kit import ChangeSchema, Filter, PageArgs, Text, sort_field
from services.kit.fields import Email, Money

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
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ClientListArgs(PageArgs):
    name = Filter(max_length=120, metadata={"description": "Contains, case-insensitive"})
    email = Email(metadata={"description": "Exact, case-insensitive"})
    cpf = Cpf(metadata={"description": "Exact; either form"})
    sort = sort_field("name", "created_at", default="name")


class AddressSchema(ChangeSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    client_id = fields.Integer(dump_only=True, metadata={"example": 42})
    state = fields.String(required=True, validate=validate.OneOf(UFS), metadata={"example": "SP"})
    city = Text(100, required=True, metadata={"example": "São Paulo"})
    street = Text(200, required=True, metadata={"example": "Avenida Paulista"})
    number = Text(20, required=True, metadata={"example": "1578", "description": "Free text: s/n"})
    complement = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"example": "Apto 12"},
    )
    cep = Cep(required=True, metadata={"example": "01310-200"})


class AddressListArgs(PageArgs):
    sort = sort_field("id", default="id")


class FavoriteSchema(Schema):
    client_id = fields.Integer(dump_only=True, metadata={"example": 42})
    product_id = fields.Integer(dump_only=True, metadata={"example": 12})
    created_at = fields.DateTime(dump_only=True)


class FavoriteProductSchema(Schema):
    """A favorite with what the products service says of the product now."""

    product_id = fields.Integer(metadata={"example": 12})
    name = fields.String(metadata={"example": "Teclado mecânico ABNT2"})
    price = Money(metadata={"example": "249.90"})
    active = fields.Boolean(metadata={"description": "false: the product was retired"})
    added_at = fields.DateTime()


class FavoriteListArgs(PageArgs):
    sort = sort_field("created_at", default="-created_at")
