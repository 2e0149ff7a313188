"""Query arguments: every value within its documented length, `page`/`per_page`/`sort` as
API.md defines them, and the list envelope."""

from __future__ import annotations

from functools import cache

import marshmallow as ma
from marshmallow import ValidationError, fields, pre_load, validate
from sqlalchemy import func, select, true
from sqlalchemy.orm import aliased
from webargs.fields import DelimitedList

from .fields import Filter

MAX_PER_PAGE = 100
MAX_PAGE = 100_000


def sort_field(*names: str, default: str) -> fields.String:
    """`?sort=name` or `?sort=-name`, limited to the documented names."""
    choices = [variant for name in names for variant in (name, f"-{name}")]
    return Filter(
        choices=choices,
        load_default=default,
        metadata={"description": f"One of {', '.join(names)}; a leading '-' sorts descending"},
    )


GIVEN_TWICE = "Given more than once."
GIVEN_TWICE_LIST = "Given more than once: list several values in one, separated by commas."


class QueryArgs(ma.Schema):
    """The base of every query schema: a value longer than its field's documented `maxLength`
    is a 422 naming it before it is parsed, whatever the field's type (a date, an amount); so is
    a parameter given more than once (`?status=paid&status=shipped`), which webargs would read as
    its first value alone, silently dropping the others."""

    @pre_load
    def given_once(self, data, **kwargs):
        given = getattr(data, "data", None)  # webargs' proxy over the request's MultiDict
        if not hasattr(given, "getlist"):
            return data
        # A field that takes repeats (a marshmallow List) reads them all: webargs says which.
        takes_repeats = getattr(data, "multiple_keys", set())
        fields_by_key = {field.data_key or name: field for name, field in self.load_fields.items()}
        errors = {
            key: [
                GIVEN_TWICE_LIST
                if isinstance(fields_by_key.get(key), DelimitedList)
                else GIVEN_TWICE
            ]
            for key in given
            if key not in takes_repeats and len(given.getlist(key)) > 1
        }
        if errors:
            raise ValidationError(errors)
        return data

    @pre_load
    def within_documented_lengths(self, data, **kwargs):
        fields_by_key = {
            field.data_key or name: field
            for name, field in self.load_fields.items()
            if "maxLength" in field.metadata
        }
        errors = {
            key: _too_long(fields_by_key[key], data[key])
            for key in data
            if key in fields_by_key
            and isinstance(data[key], str)
            and len(data[key]) > fields_by_key[key].metadata["maxLength"]
        }
        if errors:
            raise ValidationError(errors)
        return data


def _too_long(field: fields.Field, value: str) -> list[str]:
    """What a value longer than `field`'s maxLength is told: a field of choices names them (its
    maxLength is only the longest choice's), any other its length."""
    for rule in field.validators:
        if isinstance(rule, validate.OneOf):
            try:
                rule(value)
            except ValidationError as exc:
                return exc.messages
    return [f"Longer than {field.metadata['maxLength']} characters."]


class PageArgs(QueryArgs):
    """Subclass it, add the filters and declare `sort = sort_field(...)`."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def paginate(db, stmt, args: dict, sortable: dict, tiebreaker) -> dict:
    """Run `stmt` sorted by `args["sort"]` (then `tiebreaker`, for stable pages) and page it.

    The page and its `total` are read by one statement, so from one snapshot: counted apart (as
    `db.paginate` does, in a second statement), a row deleted or added in between made `total`
    disagree with the page (fewer than the items up to it). The count is a one-row subquery the
    page is left-joined to, so a page past the end still reads the total (one row, no item)."""
    key = args["sort"]
    descending = key.startswith("-")
    per_page, number = args["per_page"], args["page"]
    # The sort keys leave the page's subquery as columns, to sort its rows again after the join
    # (a row_number() there would turn LIMIT's top-N sort into a sort of every match).
    keys = [
        expr.label(f"sort_key_{i}")
        for i, expr in enumerate((sortable[key.lstrip("-")], tiebreaker))
    ]
    direction = "desc" if descending else "asc"
    rows = (
        stmt.add_columns(*keys)
        .order_by(*(getattr(expr, direction)() for expr in keys))
        .limit(per_page)
        .offset((number - 1) * per_page)
        .subquery("page_rows")
    )
    counted = select(func.count().label("total")).select_from(stmt.subquery()).subquery("counted")
    item = aliased(stmt.column_descriptions[0]["entity"], rows)
    found = db.session.execute(
        select(counted.c.total, item)
        .select_from(counted)
        .outerjoin(rows, true())
        .order_by(*(getattr(rows.c[expr.name], direction)() for expr in keys))
    ).all()
    items = [row[1] for row in found if row[1] is not None]
    return {"items": items, "page": number, "per_page": per_page, "total": found[0].total}


@cache
def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The envelope `{items, page, per_page, total}` around `item_schema`."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True, metadata={"example": 1}),
            "per_page": fields.Integer(required=True, metadata={"example": 20}),
            "total": fields.Integer(required=True, metadata={"example": 57}),
        },
        name=name,
    )
