"""Money: an integer amount of minor units (cents) with an ISO 4217 currency (SPEC §7).

Never a float. Arithmetic between two currencies is refused (``CurrencyMismatch``);
multiplying by a quantity or a rate goes through ``Money.times`` / ``Money.allocate``,
which round with the half-up rule at the minor unit, the one rounding the invoices use.
Formatting for people goes through Babel, in the reader's locale
(``Money(123456, "USD").format("es")`` reads 1.234,56 US$).

``Money.parse(text, currency)`` is the one reader of amounts people type: plain
decimal notation only (``1234.50``, ``1,234.50``), at most the currency's
decimals and at most ``MAX_MAJOR_UNITS``; exponents, ``Infinity`` and ``NaN``
are refused with ``AmountError``. The currency is an upper-case ISO 4217 code
that Babel knows (``known_currency``). Bank statements have their own reader
(``billing.reconciliation.statements``), since banks write amounts in more ways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cache

from babel.numbers import format_currency, get_currency_precision, list_currencies

# More than a billion of any currency's major unit is a typing mistake on a law firm's books,
# and it keeps every sum far inside PostgreSQL's bigint.
MAX_MAJOR_UNITS = 1_000_000_000
# ISO 4217 codes that are not money a firm holds: no currency, testing, metals, fund units.
_NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"})
_AMOUNT = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


class AmountError(ValueError):
    """Text that is not an amount of this currency (bad notation, too many decimals, too large)."""


@cache
def _babel_currencies() -> frozenset[str]:
    return frozenset(list_currencies()) - _NOT_MONEY


def known_currency(code: object) -> bool:
    """An upper-case ISO 4217 code of real money that Babel can format (``USD``; not ``usd``, ``ZZZ``, ``12``)."""
    return isinstance(code, str) and code in _babel_currencies()


def minor_digits(currency: str) -> int:
    """How many digits the currency's minor unit has (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


def max_minor(currency: str) -> int:
    """The largest amount accepted from people and integrations, in minor units of ``currency``."""
    scale: int = 10 ** minor_digits(currency)  # int ** int is typed Any (a negative power is a float)
    return MAX_MAJOR_UNITS * scale


@dataclass(frozen=True, order=False)
class Money:
    minor: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money holds whole minor units (int), not {type(self.minor).__name__}")
        if not known_currency(self.currency):
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")

    # --- construction ---------------------------------------------------------
    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | Decimal, currency: str = "USD") -> Money:
        """``"1,234.50"`` → 123450 minor units; more decimals than the currency has is an error, not a rounding.

        Raises ``AmountError`` (a ``ValueError``) for anything but plain decimal
        notation within ``MAX_MAJOR_UNITS``, and ``ValueError`` for an unknown currency.
        """
        if not known_currency(currency):
            raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
        if isinstance(text, Decimal):
            if not text.is_finite():
                raise AmountError(f"{text} is not an amount")
            text = format(text, "f")
        cleaned = str(text).strip()
        if not _AMOUNT.fullmatch(cleaned):
            raise AmountError(f"{str(text)[:40]!r} is not an amount; write it like 1234.50")
        digits = minor_digits(currency)
        amount = Decimal(cleaned.replace(",", ""))
        if abs(amount) > MAX_MAJOR_UNITS:
            raise AmountError(f"{cleaned} is more than the largest amount accepted ({MAX_MAJOR_UNITS:,} {currency})")
        scaled = amount.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise AmountError(f"{cleaned} has more decimals than {currency} allows ({digits})")
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
