"""Serializer fields for money on the API: whole minor units within bounds, and ISO 4217 currency codes.

``amount_minor`` is a JSON integer (a string of digits is accepted, as DRF
does): not a float (``1e3``, ``1000.0``), not ``Infinity`` or ``NaN``, positive
and at most a billion of the currency's major unit (``billing.money.max_minor``).
A currency is upper-case and known to Babel (``USD``; not ``usd``, ``ZZZ``, ``12``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.money import MAX_MAJOR_UNITS, Money, known_currency, max_minor


class MinorUnitsField(serializers.IntegerField):
    default_error_messages = {
        "not_whole": "Send a whole number of minor units (e.g. 150000 for 1,500.00), not a decimal or float.",
    }

    def __init__(self, **kwargs: Any) -> None:
        # The largest currency (3 decimals) bounds the field; ``money_in`` checks the exact currency.
        super().__init__(min_value=1, max_value=MAX_MAJOR_UNITS * 1000, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | float):
            self.fail("not_whole")
        if isinstance(data, str) and not data.strip().isdigit():
            self.fail("not_whole")
        return int(super().to_internal_value(data))


@extend_schema_field({"type": "string", "pattern": "^[A-Z]{3}$", "maxLength": 3, "example": "USD"})
class CurrencyField(serializers.CharField):
    default_error_messages = {"currency": "Send an upper-case ISO 4217 currency code such as USD."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=3, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data)
        if not known_currency(code):
            self.fail("currency")
        return code


def money_in(minor: int, currency: str, *, field: str = "amount_minor") -> Money:
    """``minor`` units of ``currency`` as Money, refused (400 naming ``field``) above the currency's largest amount."""
    if minor > max_minor(currency):
        raise serializers.ValidationError({field: [f"At most {MAX_MAJOR_UNITS:,} {currency} is accepted."]})
    return Money(minor, currency)
