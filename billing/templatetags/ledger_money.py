"""Money in templates, in the reader's language: ``{{ amount|money }}``, ``{{ amount_minor|minor_money:currency }}``."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from django import template
from django.utils import translation

from billing.money import Money

register = template.Library()


def money_text(amount_minor: int, currency: str, language: str | None = None) -> str:
    digits = int(get_currency_precision(currency))
    locale = (language or translation.get_language() or "en").replace("-", "_")
    return str(format_currency(Decimal(amount_minor).scaleb(-digits), currency, locale=locale))


@register.filter
def minor_money(amount_minor: int | None, currency: str = "USD") -> str:
    return money_text(int(amount_minor or 0), currency)


@register.filter
def money(amount: Money | None) -> str:
    """A ``Money`` formatted for the page's language (Babel); empty for None."""
    if amount is None:
        return ""
    return amount.format(translation.get_language() or "en")
