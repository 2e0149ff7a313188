"""The EAN-13 barcode: thirteen digits, the last one a check digit over the first twelve."""

from __future__ import annotations

import re

_EAN13 = re.compile(r"^[0-9]{13}$")


def check_digit(first_twelve: str) -> str:
    """Weights 1 and 3 alternate from the left; the digit brings the sum to a multiple of 10."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return str((10 - total % 10) % 10)


def validate(value: str) -> str:
    """The barcode as stored; ValueError names what is wrong."""
    value = value.strip()
    if not _EAN13.match(value):
        raise ValueError("An EAN-13 is 13 digits.")
    if check_digit(value[:12]) != value[12]:
        raise ValueError("The check digit does not match.")
    return value
