"""The Brazilian CPF: check digits, and the one stored form `000.000.000-00`."""

from __future__ import annotations

import re

_FORMATTED = re.compile(r"^[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}$")
_BARE = re.compile(r"^[0-9]{11}$")


def check_digits(first_nine: str) -> str:
    digits = [int(d) for d in first_nine]
    for _ in range(2):
        weight = len(digits) + 1
        total = sum(d * (weight - i) for i, d in enumerate(digits))
        remainder = total % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(str(d) for d in digits[-2:])


def normalise(value: str) -> str:
    """`45409000000` or `454.090.000-00` -> `454.090.000-00`; ValueError names what is wrong."""
    value = value.strip()
    if not (_FORMATTED.match(value) or _BARE.match(value)):
        raise ValueError("Must be 11 digits, as 000.000.000-00 or 00000000000.")
    digits = re.sub(r"\D", "", value)
    if len(set(digits)) == 1:
        raise ValueError("A CPF of one repeated digit is not valid.")
    if check_digits(digits[:9]) != digits[9:]:
        raise ValueError("The check digits do not match.")
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
