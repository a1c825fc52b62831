"""Money: integer minor units with a currency, refusing mixed currencies and floats, formatted per locale."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from billing.money import CurrencyMismatch, Money, round_half_up

NBSP = "\xa0"


def test_amounts_add_and_subtract_in_whole_minor_units() -> None:
    assert Money(100_00) + Money(2_50) - Money(1) == Money(102_49)
    assert -Money(5, "EUR") == Money(-5, "EUR")


def test_mixing_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatch, match="USD with EUR"):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(CurrencyMismatch):
        assert Money(1, "USD") < Money(2, "EUR")


def test_a_float_is_never_accepted() -> None:
    with pytest.raises(TypeError, match="minor units"):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        Money(100).times(0.5)  # type: ignore[arg-type]


def test_parsing_refuses_more_decimals_than_the_currency_has() -> None:
    assert Money.parse("1,234.50") == Money(123_450)
    assert Money.parse("1000", "JPY") == Money(1000, "JPY")
    with pytest.raises(ValueError, match="more decimals"):
        Money.parse("1.005")
    with pytest.raises(ValueError, match="more decimals"):
        Money.parse("10.5", "JPY")


def test_multiplying_rounds_half_up_exactly_once() -> None:
    # 50 minutes at $275.00/h = 22,916.666... cents
    assert Money(275_00).times(Fraction(50, 60)) == Money(229_17)
    assert Money(1).times(Fraction(1, 2)) == Money(1)
    assert Money(-1).times(Fraction(1, 2)) == Money(-1)
    assert Money(1).times(Decimal("0.49")) == Money(0)
    assert round_half_up(Fraction(5, 2)) == 3


def test_english_and_spanish_readers_see_their_own_formats() -> None:
    assert Money(1_234_56).format("en") == "$1,234.56"
    assert Money(1_234_56).format("es") == f"1.234,56{NBSP}US$"
    assert Money(1_234_56, "EUR").format("es") == f"1.234,56{NBSP}€"


def test_currency_codes_must_be_iso_4217_shaped() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(1, "usd")
