"""``{{ amount_minor|minor_money:currency }}``: minor units shown as money in the reader's language (Babel)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from django import template
from django.utils import translation

register = template.Library()


def money_text(amount_minor: int, currency: str, language: str | None = None) -> str:
    digits = int(get_currency_precision(currency))
    locale = (language or translation.get_language() or "en").replace("-", "_")
    return str(format_currency(Decimal(amount_minor).scaleb(-digits), currency, locale=locale))


@register.filter
def minor_money(amount_minor: int | None, currency: str = "USD") -> str:
    return money_text(int(amount_minor or 0), currency)
