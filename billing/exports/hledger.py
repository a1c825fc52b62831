"""The firm's ledger as an hledger journal (https://hledger.org/journal.html).

One transaction per journal entry, dated with its ``occurred_on``, code
``JE-<id>``, the entry's memo as description, and one posting per line: the
account's colon-separated name (``assets:trust bank:USD``) and the signed
amount (debits positive, credits negative) as a decimal with the currency's
minor digits and the ISO code as commodity. ``commodity`` directives fix each
currency's precision, so ``hledger`` reads the file without guessing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from babel.numbers import get_currency_precision

from billing.ledger.models import JournalEntry, JournalLine


def format_amount(minor: int, currency: str) -> str:
    """``-12345`` USD is ``-123.45 USD`` (no thousands separator, ``.`` for decimals)."""
    digits = int(get_currency_precision(currency))
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**digits) if digits else (abs(minor), 0)
    decimals = f".{fraction:0{digits}d}" if digits else ""
    return f"{sign}{whole}{decimals} {currency}"


def _clean(text: str) -> str:
    # A description is one line; ';' would start a comment and '|' splits payee from note.
    return " ".join(text.replace(";", ",").replace("|", "/").split())


def journal_lines(*, as_of: date | None = None) -> Iterator[str]:
    """The journal, line by line (stream it; it may be large)."""
    entries = JournalEntry.objects.order_by("occurred_on", "id")
    if as_of is not None:
        entries = entries.filter(occurred_on__lte=as_of)
    currencies = sorted(set(JournalLine.objects.values_list("currency", flat=True).distinct()))
    yield "; Portico ledger export: one transaction per journal entry."
    for currency in currencies:
        yield f"commodity {format_amount(10**6 * 10 ** int(get_currency_precision(currency)), currency)}"
    yield ""
    lines = JournalLine.objects.select_related("account").order_by("entry_id", "id")
    if as_of is not None:
        lines = lines.filter(occurred_on__lte=as_of)
    by_entry: dict[int, list[JournalLine]] = {}
    for line in lines.iterator(chunk_size=5000):
        by_entry.setdefault(line.entry_id, []).append(line)
    for entry in entries.iterator(chunk_size=5000):
        yield f"{entry.occurred_on.isoformat()} * (JE-{entry.pk}) {_clean(entry.memo) or entry.kind}"
        yield f"    ; kind: {entry.kind}"
        for line in by_entry.get(entry.pk, []):
            yield f"    {line.account.name}  {format_amount(line.debit_minor - line.credit_minor, line.currency)}"
        yield ""


def journal_text(*, as_of: date | None = None) -> str:
    return "\n".join(journal_lines(as_of=as_of)) + "\n"
