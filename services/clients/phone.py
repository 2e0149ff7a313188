"""A client's phone: a Brazilian mobile, checked with `phonenumbers` (Google's libphonenumber
metadata), stored and answered E.164 (`+5511912345678`), masked for whoever is not an admin
(`+55 11 9****-5678`). It is personal data: no message here repeats the number, and nothing
logs it."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

# Digits and the usual punctuation of a written number; anything else (letters, which
# phonenumbers would read as a vanity number or drop) is refused before parsing.
_WRITTEN = re.compile(r"^[0-9+()\-. ]{8,25}$")
# What the database holds (the clients table checks it too): +55, a two-digit area code (DDD),
# then the nine digits of a mobile, which start with 9.
E164_MOBILE = r"^\+55[1-9]{2}9[0-9]{8}$"
_STORED = re.compile(E164_MOBILE)
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

NOT_A_MOBILE = (
    "Must be a Brazilian mobile number with its area code, as (11) 91234-5678, "
    "11912345678 or +5511912345678."
)
NOT_THE_STORED_ONE = (
    "A masked phone keeps the stored one only as it was answered to you; give the whole number "
    "to set another."
)


class Masked(str):
    """A phone with `*` in it: no number, at most the stored one as the API answered it. Only the
    client's row can say which (clients.update_client)."""


def normalise(raw: str) -> str:
    """`(11) 91234-5678`, `11912345678`, `+5511912345678` -> `+5511912345678`. A ValueError (whose
    message never holds the number) for anything that is not a Brazilian mobile."""
    value = raw.strip()
    if not _WRITTEN.match(value):
        raise ValueError(NOT_A_MOBILE)
    try:
        number = phonenumbers.parse(value, "BR")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(NOT_A_MOBILE) from exc
    if (
        number.country_code != 55
        or not phonenumbers.is_valid_number_for_region(number, "BR")
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise ValueError(NOT_A_MOBILE)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not _STORED.match(e164):
        raise ValueError(NOT_A_MOBILE)
    return e164


def mask(e164: str | None) -> str | None:
    """`+5511912345678` -> `+55 11 9****-5678`: the area code and the last four digits only."""
    if not e164:
        return e164
    if not _STORED.match(e164):
        # Not one of ours: show only its last two digits.
        return "*" * max(len(e164) - 2, 0) + e164[-2:]
    return f"+55 {e164[3:5]} {e164[5]}****-{e164[-4:]}"


def shown_to(e164: str | None, role: str | None) -> str | None:
    """The phone as the API answers it to a caller of `role`: whole to an admin, else masked."""
    return e164 if role == "admin" else mask(e164)
