"""Request and response bodies of the products API."""

from __future__ import annotations

from decimal import Decimal

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from services.kit import Answer, ChangeSchema, Filter, Id, PageArgs, Text, sort_field
from services.kit.fields import MAX_ID, Composed, Flag, FlagFilter, Money

from . import ean
from .images import media_url

MAX_IMPORT_ROWS = 1000
MAX_BATCH_IDS = 100
# MAX_BATCH_IDS ids of ten digits, and the commas between them.
MAX_ID_LIST = MAX_BATCH_IDS * 11 - 1


class Barcode(fields.String):
    """An EAN-13 with its check digit verified."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return ean.validate(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class IdList(fields.String):
    """`1,2,3` -> [1, 2, 3]: at most MAX_BATCH_IDS positive ids, repeats dropped."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        parts = [part.strip() for part in raw.split(",")]
        # Ten digits at most before int(): Python refuses to convert very long digit strings.
        if not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts):
            raise ValidationError("A comma-separated list of product ids.")
        ids = list(dict.fromkeys(int(part) for part in parts))
        if not all(0 < id_ <= MAX_ID for id_ in ids):
            raise ValidationError("A comma-separated list of product ids.")
        if len(ids) > MAX_BATCH_IDS:
            raise ValidationError(f"At most {MAX_BATCH_IDS} ids.")
        return ids


class CategorySchema(ChangeSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 3})
    name = Text(80, required=True, metadata={"example": "Periféricos"})
    description = Composed(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"example": "Teclados, mouses e headsets"},
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class CategoryListArgs(PageArgs):
    sort = sort_field("name", "created_at", default="name")


class ImageSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 5})
    url = fields.Function(
        lambda image: media_url(image.path),
        dump_only=True,
        metadata={"example": "/media/products/12/3f2c0d1e9b8a4c7d.jpg"},
    )
    thumbnail_url = fields.Function(
        lambda image: media_url(image.thumbnail_path),
        dump_only=True,
        metadata={"example": "/media/products/12/3f2c0d1e9b8a4c7d-thumb.jpg"},
    )


class ImageUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "A JPEG, PNG or WebP picture"})


class ProductSchema(ChangeSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 12})
    name = Text(200, required=True, metadata={"example": "Teclado mecânico ABNT2"})
    description = Composed(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=5000),
        metadata={"example": "Switches marrons, iluminação branca"},
    )
    price = Money(
        required=True,
        minimum=Decimal("0"),
        exclusive_minimum=True,
        metadata={"example": "249.90"},
    )
    barcode = Barcode(required=True, metadata={"example": "7891234567895"})
    category_id = Id(allow_none=True, load_default=None, metadata={"example": 3})
    expires_on = fields.Date(load_default=None, allow_none=True, metadata={"example": None})
    active = Flag(load_default=True, metadata={"description": "false retires it"})
    available_quantity = fields.Integer(
        dump_only=True, metadata={"description": "Set by inventory; 0 until it has stock"}
    )
    images = fields.List(fields.Nested(ImageSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class CollectedRowSchema(ProductSchema):
    """A row the collector sends: a product, and, when the page now gives it another barcode (a
    SKU added or corrected, a GTIN added), the id of the product its page became before with the
    barcode the page gave it then (`was`), given together."""

    id = Id(load_default=None, metadata={"description": "The product the page became before"})
    was = Barcode(
        load_default=None,
        metadata={"description": "The barcode the page gave that product (with id)"},
    )

    @validates_schema
    def id_and_was_together(self, data, **kwargs):
        for given, missing in (("id", "was"), ("was", "id")):
            if data.get(given) is not None and data.get(missing) is None:
                raise ValidationError("Missing data for required field.", missing)


class ProductCreateSchema(ProductSchema):
    initial_stock = fields.Integer(
        load_only=True,
        load_default=0,
        strict=True,
        validate=validate.Range(min=0, max=MAX_ID),
        metadata={"description": "Units inventory starts with (through product.created)"},
    )


class ProductListArgs(PageArgs):
    q = Filter(metadata={"description": "Words of the name or description (Portuguese stems)"})
    ids = IdList(
        metadata={
            "description": f"Only these ids, comma-separated (≤ {MAX_BATCH_IDS})",
            "maxLength": MAX_ID_LIST,
        }
    )
    category_id = Id(strict=False)
    # As long as the pattern Money documents allows: ten digits, a point and two.
    min_price = Money(metadata={"example": "10.00", "maxLength": 13})
    max_price = Money(metadata={"example": "99.90", "maxLength": 13})
    available = FlagFilter(metadata={"description": "true: stock > 0; false: none"})
    active = FlagFilter()
    sort = sort_field("name", "price", "created_at", "popularity", default="name")

    @validates_schema
    def a_range_that_can_match(self, data, **kwargs):
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ValidationError("Must not be below min_price.", "max_price")


class ImportSchema(Schema):
    """The body is a bare JSON array; each row is validated on its own by the import."""

    # Text PostgreSQL cannot store rejects only its row (the import checks each), not the batch.
    check_text = False

    # A null row too is the import's to refuse, alone: Raw would refuse the whole batch for it.
    rows = fields.List(fields.Raw(allow_none=True), required=True)

    @pre_load
    def an_array(self, data, **kwargs):
        if not isinstance(data, list):
            raise ValidationError("Must be a JSON array of products.", "_body")
        if len(data) > MAX_IMPORT_ROWS:
            raise ValidationError(f"At most {MAX_IMPORT_ROWS} rows per import.", "_body")
        return {"rows": data}


class RejectedRowSchema(Answer):
    index = fields.Integer(metadata={"example": 3})
    reason = fields.String(metadata={"example": "Invalid fields: barcode"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"example": {"barcode": ["The check digit does not match."]}},
    )


class ImportResultSchema(Answer):
    created = fields.Integer(metadata={"example": 98})
    updated = fields.Integer(metadata={"example": 1})
    rejected = fields.List(fields.Nested(RejectedRowSchema))
