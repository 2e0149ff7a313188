"""The kit's CPF and EAN-13 makers (used by the seed, the fuzzer and the journey) make what the
clients and products validators accept."""

from __future__ import annotations

import random

import pytest

from services.clients.cpf import normalise
from services.kit.makers import cpf, ean13, random_cpf
from services.products.ean import validate


@pytest.mark.parametrize("seed", range(200))
def test_a_random_cpf_is_one_clients_accepts_as_it_is_stored(seed):
    made = random_cpf(random.Random(seed))
    assert normalise(made) == made


class Draws(random.Random):
    """Draws the digits given, in turn."""

    def __init__(self, *draws: str):
        super().__init__(0)
        self.draws = list(draws)

    def choices(self, population, k=1, **_):
        return list(self.draws.pop(0))


def test_random_cpf_draws_again_rather_than_make_one_of_a_repeated_digit_clients_refuses():
    with pytest.raises(ValueError, match="repeated"):
        normalise(cpf("111111111"))
    assert random_cpf(Draws("111111111", "123456789")) == cpf("123456789")


def test_the_bulk_seed_cpfs_are_valid_and_distinct():
    made = [cpf(f"{(700_000_000 + n * 7) % 1_000_000_000:09d}") for n in range(1, 2000)]
    assert all(normalise(value) == value for value in made)
    assert len(set(made)) == len(made)


@pytest.mark.parametrize("first_twelve", ["789000000000", "789123456789", "200000000042"])
def test_an_ean13_is_one_products_accepts(first_twelve):
    made = ean13(first_twelve)
    assert made.startswith(first_twelve)
    assert validate(made) == made


@pytest.mark.parametrize("seed", range(50))
def test_a_random_ean13_is_one_products_accepts(seed):
    first_twelve = "".join(random.Random(seed).choices("0123456789", k=12))
    assert validate(ean13(first_twelve)) == ean13(first_twelve)
