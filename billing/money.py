"""Money: an integer amount of minor units (cents) with an ISO 4217 currency (SPEC §7).

Never a float. Arithmetic between two currencies is refused (``CurrencyMismatch``);
multiplying by a quantity or a rate goes through ``Money.times`` / ``Money.allocate``,
which round with the half-up rule at the minor unit, the one rounding the invoices use.
Formatting for people goes through Babel, in the reader's locale
(``Money(123456, "USD").format("es")`` reads 1.234,56 US$).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from babel.numbers import format_currency, get_currency_precision


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def minor_digits(currency: str) -> int:
    """How many digits the currency's minor unit has (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


@dataclass(frozen=True, order=False)
class Money:
    minor: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money holds whole minor units (int), not {type(self.minor).__name__}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")

    # --- construction ---------------------------------------------------------
    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | Decimal, currency: str = "USD") -> Money:
        """``"1234.50"`` → 123450 minor units; more decimals than the currency has is an error, not a rounding."""
        amount = Decimal(str(text).strip().replace(",", ""))
        scaled = amount.scaleb(minor_digits(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{text} has more decimals than {currency} allows")
        return cls(int(scaled), currency)

    # --- arithmetic -------------------------------------------------------------
    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def times(self, factor: int | Fraction | Decimal) -> Money:
        """``self x factor`` rounded half-up to a whole minor unit (e.g. minutes/60 x hourly rate)."""
        if isinstance(factor, float):
            raise TypeError("Money is never multiplied by a float; pass an int, Fraction or Decimal")
        exact = Fraction(self.minor) * Fraction(factor)
        return Money(round_half_up(exact), self.currency)

    @classmethod
    def sum(cls, amounts: list[Money] | tuple[Money, ...], currency: str = "USD") -> Money:
        total = cls.zero(currency)
        for amount in amounts:
            total = total + amount
        return total

    # --- presentation -------------------------------------------------------------
    def as_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_digits(self.currency))

    def format(self, locale: str = "en") -> str:
        """For people: ``$1,234.56`` in English, ``1234,56 US$`` in Spanish (Babel's CLDR data)."""
        return format_currency(self.as_decimal(), self.currency, locale=_babel_locale(locale))

    def __str__(self) -> str:
        return f"{self.as_decimal()} {self.currency}"


def round_half_up(value: Fraction) -> int:
    """The nearest integer, halves away from zero (0.5 → 1, -0.5 → -1), computed exactly."""
    quotient, remainder = divmod(abs(value.numerator), value.denominator)
    if 2 * remainder >= value.denominator:
        quotient += 1
    return quotient if value >= 0 else -quotient


def _babel_locale(language: str) -> str:
    # Plain "es" (CLDR's Spanish: 1.234,56 US$); es_US would format like English.
    return {"en": "en_US", "es": "es"}.get(language, language.replace("-", "_"))
