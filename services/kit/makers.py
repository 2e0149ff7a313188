"""Valid Brazilian CPFs and EAN-13 barcodes for demo, benchmark and fuzz data.

They live in the kit so that the stack's seed, the fuzzer and the monitoring journey make them
without importing a service's domain code; `stack/tests/test_makers.py` checks each against
the validators clients and products apply.
"""

from __future__ import annotations

import random


def cpf_check_digits(first_nine: str) -> str:
    """The two check digits of a CPF: each a weighted sum mod 11, the weights counting down."""
    digits = [int(d) for d in first_nine]
    for _ in range(2):
        weight = len(digits) + 1
        remainder = sum(d * (weight - i) for i, d in enumerate(digits)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(str(d) for d in digits[-2:])


def cpf(first_nine: str) -> str:
    """The formatted CPF `000.000.000-00` that starts with these nine digits."""
    digits = first_nine + cpf_check_digits(first_nine)
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def random_cpf(rng: random.Random) -> str:
    """A formatted CPF with valid check digits, never one repeated digit (which clients refuses
    whatever its check digits)."""
    while True:
        first_nine = "".join(rng.choices("0123456789", k=9))
        if len(set(first_nine)) > 1:
            return cpf(first_nine)


def ean13(first_twelve: str) -> str:
    """The barcode that starts with these twelve digits: weights 1 and 3 alternate from the left,
    and the check digit brings the sum to a multiple of 10."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)
