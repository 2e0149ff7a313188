"""marshmallow fields the services share."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from marshmallow import ValidationError, fields, validate

# Query parameters are bounded so that every URL a client can build stays a 422 from the
# service, far below what the gateway accepts (an 8 KiB request line): free text...
MAX_FILTER = 200
# ...and an ISO 8601 time (32 characters with microseconds and an offset).
MAX_DATETIME = 40
MAX_DATE = 10


# What PostgreSQL cannot hold in text: NUL, and a lone surrogate (JSON can escape one, "\ud800";
# UTF-8 cannot encode it). Either reached the database as a 500 or a 422 naming no field.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Contains a NUL character or an unpaired surrogate, which cannot be stored."


def unstorable_text(data) -> dict[str, list[str]]:
    """Every string in `data` (a parsed body, a query, a row) that PostgreSQL cannot store, by
    its path ("lines.0.note"): checked once for every location, whatever the field's type.

    Iterative, so that no nesting depth can exhaust the stack."""
    errors: dict[str, list[str]] = {}
    pending = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                errors[path or "_body"] = [UNSTORABLE_MESSAGE]
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                key = str(key)
                if UNSTORABLE.search(key):
                    # Named with the character escaped, so that the answer itself holds none.
                    key = key.encode("unicode_escape").decode("ascii")
                    errors[f"{path}.{key}" if path else key] = [UNSTORABLE_MESSAGE]
                    continue
                pending.append((f"{path}.{key}" if path else key, inner))
        elif isinstance(value, list | tuple):
            pending.extend(
                (f"{path}.{index}" if path else str(index), inner)
                for index, inner in enumerate(value)
            )
    return errors


# Spaces at either end of a line of text (any Unicode space but the control characters, which
# `_one_line_of_text` refuses wherever they are).
EDGE_SPACES = re.compile(r"^[^\S\x00-\x1f\x7f-\x9f]+|[^\S\x00-\x1f\x7f-\x9f]+$")


class Composed(fields.String):
    """A string read in Unicode's composed form (NFC): "José" typed with a combining accent
    (`e` + U+0301) is stored, compared and searched as the "José" of one character, so a name
    unique by its letters cannot be taken twice in two spellings, nor missed by a search."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return unicodedata.normalize("NFC", text)


BLANK_FILTER = "Must hold a word to find."


class Filter(Composed):
    """A string query parameter, documented with its `maxLength`: free text of 1 to
    `max_length` characters (MAX_FILTER unless given), or one of `choices` (as long as the
    longest). Longer is a 422 naming it. Read as `Text` stores it: composed (NFC), the spaces at
    its ends dropped (`?email=ana@x.com%20` finds what was stored as `ana@x.com`); blanks alone
    are a 422 (BLANK_FILTER), not a search that finds everything or nothing."""

    def __init__(self, *, max_length: int = MAX_FILTER, choices=None, **kwargs):
        if choices is not None:
            rule = validate.OneOf(choices)
            max_length = max(map(len, choices))
        else:
            rule = validate.Length(min=1, max=max_length)
        kwargs["metadata"] = {"maxLength": max_length, **(kwargs.get("metadata") or {})}
        super().__init__(validate=rule, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text and not text.split():
            raise ValidationError(BLANK_FILTER)
        return EDGE_SPACES.sub("", text)


# Placeholders in the zone database, not places: "Factory" (offset 0, "-00") and the host's own.
NOT_PLACES = frozenset({"Factory", "localtime"})
MAX_TIME_ZONE = 40


@functools.cache
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_PLACES


class TimeZone(fields.String):
    """An IANA time zone name ("America/Sao_Paulo", "UTC"), loaded as a `ZoneInfo` (str() gives
    the name back). A name the zone database does not hold is a 422 naming the field."""

    default_error_messages = {
        "unknown": "Not a time zone name of the IANA database, such as America/Sao_Paulo or UTC."
    }

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"maxLength": MAX_TIME_ZONE, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if name not in time_zone_names():
            raise self.make_error("unknown")
        return zoneinfo.ZoneInfo(name)


# The largest id an INTEGER column holds (the `<int:…>` route converter stops there too).
MAX_ID = 2**31 - 1


class Id(fields.Integer):
    """A row's id: 1 to MAX_ID. Strict (a JSON integer) in bodies; `strict=False` for a query
    parameter, which arrives as text."""

    def __init__(self, *, strict: bool = True, **kwargs):
        super().__init__(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class IdList(fields.String):
    """`1,2,3` -> [1, 2, 3] (a batch read's query parameter): at most `most` positive ids,
    repeats dropped, documented with the longest such list as its `maxLength`."""

    def __init__(self, *, most: int = 100, **kwargs):
        # `most` ids of ten digits, and the commas between them.
        kwargs["metadata"] = {"maxLength": most * 11 - 1, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)
        self.most = most

    def _deserialize(self, value, attr, data, **kwargs):
        parts = [
            part.strip() for part in super()._deserialize(value, attr, data, **kwargs).split(",")
        ]
        # Ten digits at most before int(): Python refuses to convert very long digit strings.
        if not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts):
            raise ValidationError("A comma-separated list of ids.")
        ids = list(dict.fromkeys(int(part) for part in parts))
        if not all(0 < id_ <= MAX_ID for id_ in ids):
            raise ValidationError("A comma-separated list of ids.")
        if len(ids) > self.most:
            raise ValidationError(f"At most {self.most} ids.")
        return ids


# A control character (C0, DEL, C1): no name, street or number holds one, and a terminal or a
# CSV export reading it back would act on it.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(value: str) -> None:
    """No control character: a validator for optional one-line text, which may be empty."""
    if CONTROL.search(value):
        raise ValidationError("Must not contain control characters (tabs and line breaks too).")


def _one_line_of_text(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")
    one_line(value)


class Flag(fields.Boolean):
    """A boolean in a JSON body: `true` or `false`. marshmallow's own also takes "yes", "off", 1
    and 0, where the document says boolean: those are a 422 naming the field
    (`FlagFilter` is its query twin)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class FlagFilter(fields.Boolean):
    """A boolean query parameter: `true` or `false` (any case); "yes", "1" or "on" are a 422."""

    def _deserialize(self, value, attr, data, **kwargs):
        spelled = value.lower() if isinstance(value, str) else None
        if spelled not in ("true", "false"):
            raise self.make_error("invalid", input=value)
        return spelled == "true"


class Text(Composed):
    """Free text in a body, one line of it: 1 to `max_length` characters (composed, NFC, the
    spaces at its ends dropped), not only spaces and no control character (`Filter` is its query
    twin). "  Casa Aurora " is the name "Casa Aurora", taken once."""

    def __init__(self, max_length: int, **kwargs):
        # Empty is blank ("Must not be blank."), not a length: the form that sent it shows why.
        # The document still says 1 to max_length.
        kwargs["metadata"] = {"minLength": 1, **(kwargs.get("metadata") or {})}
        super().__init__(validate=[validate.Length(max=max_length), _one_line_of_text], **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return EDGE_SPACES.sub("", super()._deserialize(value, attr, data, **kwargs))


class Email(fields.String):
    """An address checked by email-validator (syntax only, no DNS) and stored lower-cased."""

    MAX = 254

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"maxLength": self.MAX, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > self.MAX:
            raise ValidationError(f"Longer than {self.MAX} characters.")
        try:
            checked = validate_email(raw, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError("Not a valid email address.") from exc
        return checked.normalized.lower()


def normalized_email(text: str) -> str:
    """An address as `Email` stores it (full-width letters, decomposed accents and case as
    email-validator normalises them), so a sign-in or a search finds what registering stored;
    what is not an address is only trimmed and lower-cased (it matches nothing)."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return text.strip().lower()


# An amount as text: ASCII digits, and a point followed by digits (their count checked after).
AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


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
        if isinstance(value, str) and not AMOUNT_TEXT.fullmatch(value):
            # Python's Decimal also reads "1_0", "1e1", " 1.00 ", "+1", ".5" and other scripts'
            # digits (U+0663, U+FF11): a typo would move money. Digits, a point, digits.
            raise ValidationError("Not a valid amount: digits with a point, as in 30.25.")
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


def event_amount(value) -> Decimal:
    """An amount of money another service's event carries (a price, a total): a finite decimal an
    amount column holds. Anything else is the sender's mistake, which the inbox rejects
    (ValueError)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc
    if not amount.is_finite() or abs(amount) > Money.MAX:
        raise ValueError(f"not an amount of money: {value!r}")
    return amount


def event_instant(value) -> datetime:
    """A moment another service's event (or answer) carries: ISO 8601 with its offset. Anything
    else is the sender's mistake (ValueError: the inbox rejects the event)."""
    instant = datetime.fromisoformat(str(value))
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return instant
