"""Checks every money service applies to what people and integrations send: amounts, currencies, dates.

Each check raises ``ValidationError({field: [message]})``, so a form shows the
message at the field and the API answers 400 with the field's name
(``error_dict``); nothing is written when one fails, since the checks run
before the service's first write. Amounts are ``Money``, positive and at most
``billing.money.max_minor``; a currency is an upper-case ISO 4217 code Babel
knows; a business date (money received, cleared, a statement line) lies
between ``EARLIEST_DATE`` and today: money is recorded when it has moved.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.money import MAX_MAJOR_UNITS, Money, known_currency, max_minor

# Nobody's books on Portico start before this; earlier dates are typing mistakes (0025 for 2025).
EARLIEST_DATE = date(2000, 1, 1)


def refuse(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def check_currency(code: object, *, field: str = "currency") -> str:
    """``code`` when it is an upper-case ISO 4217 currency Babel knows (``USD``), else refused."""
    if not known_currency(code):
        raise refuse(field, f"{str(code)[:10]!r} is not a currency; use an upper-case ISO 4217 code such as USD.")
    assert isinstance(code, str)
    return code


def check_amount(amount: object, *, field: str = "amount", currency: str | None = None) -> Money:
    """A positive ``Money`` no larger than ``MAX_MAJOR_UNITS`` (in ``currency`` when one is required)."""
    if not isinstance(amount, Money):
        raise refuse(field, "The amount must be given as money (minor units with a currency).")
    if currency is not None and amount.currency != currency:
        raise refuse(field, f"The amount is in {amount.currency}; this is kept in {currency}.")
    if amount.minor <= 0:
        raise refuse(field, "Enter a positive amount.")
    if amount.minor > max_minor(amount.currency):
        raise refuse(field, f"The amount is more than the largest accepted ({MAX_MAJOR_UNITS:,} {amount.currency}).")
    return amount


def check_business_date(day: object, *, field: str, today: date | None = None) -> date:
    """A day money moved: a real date from ``EARLIEST_DATE`` up to today, never in the future."""
    if not isinstance(day, date):
        raise refuse(field, "Enter a date such as 2025-03-31.")
    today = today or timezone.localdate()
    if day < EARLIEST_DATE:
        raise refuse(field, f"{day.isoformat()} is before {EARLIEST_DATE.isoformat()}; check the year.")
    if day > today:
        raise refuse(field, f"{day.isoformat()} is in the future; record money when it has moved.")
    return day
