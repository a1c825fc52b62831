"""Aging of receivables (SPEC §8): what each client owes, by how many days it is past due, as of any day.

The source of truth is the ledger: every line on a receivable account up to the
day, attributed to the invoice it belongs to through its journal entry (an
invoice's issue and void entries name the invoice as their source; a payment,
a trust application, a credit note or a write-off is linked to its entry, and
each of those belongs to one invoice). An invoice's balance on the day is the
sum of its lines; its bucket is the number of days past its due date on that
day. So the buckets add up to the receivable accounts' balance to the cent; a
receivable line no invoice claims (none is posted today) still counts, in a row
of its own, instead of making the totals disagree with the ledger.

Reads are one query per report (grouped in the database), however many invoices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

from billing.credit_notes.models import CreditNote
from billing.invoices.models import Invoice, Payment, WriteOff
from billing.ledger.models import Account, JournalEntry, JournalLine
from billing.money import Money
from core.models import Matter, User

# Bucket keys, in order, with their headings; a bucket is (first day past due, last day past due).
BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "90+")
BUCKET_LABELS = {
    "current": _("Current"),
    "1-30": _("1-30 days"),
    "31-60": _("31-60 days"),
    "61-90": _("61-90 days"),
    "90+": _("Over 90 days"),
}
GROUPINGS: tuple[str, ...] = ("client", "matter", "attorney")
GROUPING_LABELS = {"client": _("Client"), "matter": _("Matter"), "attorney": _("Responsible attorney")}


def bucket_of(days_past_due: int) -> str:
    """The bucket of an invoice ``days_past_due`` days after its due date (0 or less: current)."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


def _per_invoice_sql() -> str:
    """Each invoice's receivable balance up to ``%(as_of)s`` in ``%(currency)s`` (invoice_id NULL: unclaimed lines)."""
    invoice_type = Invoice._meta.label_lower
    return f"""
        SELECT COALESCE(
                   CASE WHEN e.source_type = '{invoice_type}' THEN e.source_id::bigint END,
                   p.invoice_id, cn.invoice_id, w.invoice_id
               ) AS invoice_id,
               SUM(l.debit_minor - l.credit_minor) AS balance
          FROM {JournalLine._meta.db_table} l
          JOIN {Account._meta.db_table} a ON a.id = l.account_id
          JOIN {JournalEntry._meta.db_table} e ON e.id = l.entry_id
          LEFT JOIN {Payment._meta.db_table} p ON p.entry_id = e.id
          LEFT JOIN {CreditNote._meta.db_table} cn ON cn.entry_id = e.id
          LEFT JOIN {WriteOff._meta.db_table} w ON w.entry_id = e.id
         WHERE a.kind = '{Account.Kind.RECEIVABLE}' AND a.currency = %(currency)s AND l.occurred_on <= %(as_of)s
         GROUP BY 1
    """  # noqa: S608  (table names and constants only; values are parameters)


def _bucket_sql() -> str:
    return """CASE WHEN i.due_on IS NULL OR %(as_of)s::date - i.due_on <= 0 THEN 'current'
                   WHEN %(as_of)s::date - i.due_on <= 30 THEN '1-30'
                   WHEN %(as_of)s::date - i.due_on <= 60 THEN '31-60'
                   WHEN %(as_of)s::date - i.due_on <= 90 THEN '61-90'
                   ELSE '90+' END"""


_DIMENSION = {"client": "i.client_id", "matter": "i.matter_id", "attorney": "m.responsible_attorney_id"}


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass
class AgingRow:
    """One client, matter or attorney (``key`` None: no attorney, or lines no invoice claims)."""

    key: int | None
    label: str
    currency: str
    minor: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    invoices: int = 0
    unclaimed: bool = False

    @property
    def total_minor(self) -> int:
        return sum(self.minor.values())

    def cells(self) -> list[tuple[str, Money]]:
        return [(bucket, Money(self.minor[bucket], self.currency)) for bucket in BUCKETS]

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)


@dataclass
class Aging:
    as_of: date
    currency: str
    by: str
    rows: list[AgingRow]
    totals: AgingRow


def _labels(by: str, keys: set[int]) -> dict[int, str]:
    if by == "matter":
        return {m.pk: f"{m.reference} {m.title}" for m in Matter.objects.filter(pk__in=keys)}
    return {u.pk: u.get_full_name() for u in User.objects.filter(pk__in=keys)}


def aging_report(*, as_of: date, currency: str, by: str = "client") -> Aging:
    """Receivables on ``as_of`` in ``currency``, one row per client, matter or responsible attorney."""
    if by not in GROUPINGS:
        raise ValueError(f"aging is grouped by one of {GROUPINGS}, not {by!r}")
    sql = f"""
        SELECT {_DIMENSION[by]} AS key, ({_bucket_sql()}) AS bucket, SUM(pi.balance), COUNT(i.id),
               pi.invoice_id IS NULL AS unclaimed
          FROM ({_per_invoice_sql()}) pi
          LEFT JOIN {Invoice._meta.db_table} i ON i.id = pi.invoice_id
          LEFT JOIN {Matter._meta.db_table} m ON m.id = i.matter_id
         WHERE pi.balance <> 0
         GROUP BY 1, 2, 5
    """  # noqa: S608
    found = _fetch(sql, {"as_of": as_of, "currency": currency})
    labels = _labels(by, {row[0] for row in found if row[0] is not None})
    rows: dict[tuple[int | None, bool], AgingRow] = {}
    totals = AgingRow(key=None, label=str(_("Total")), currency=currency)
    for key, bucket, balance, count, unclaimed in found:
        if unclaimed:
            label = str(_("Receivable lines not linked to an invoice"))
        elif key is None:
            label = str(_("No responsible attorney"))
        else:
            label = labels.get(key, str(key))
        row = rows.setdefault((key, unclaimed), AgingRow(key=key, label=label, currency=currency, unclaimed=unclaimed))
        row.minor[bucket] += int(balance)
        row.invoices += int(count)
        totals.minor[bucket] += int(balance)
        totals.invoices += int(count)
    ordered = sorted(rows.values(), key=lambda row: (row.unclaimed, -row.total_minor, row.label))
    return Aging(as_of=as_of, currency=currency, by=by, rows=ordered, totals=totals)


@dataclass(frozen=True)
class AgedInvoice:
    invoice: Invoice
    balance: Money
    days_past_due: int
    bucket: str


def _days_past_due(invoice: Invoice, as_of: date) -> int:
    return max(0, (as_of - invoice.due_on).days) if invoice.due_on is not None else 0


def aged_invoices(
    *,
    as_of: date,
    currency: str,
    bucket: str | None = None,
    client: User | None = None,
    matter: Matter | None = None,
    attorney: User | None = None,
    unassigned: bool = False,
) -> list[AgedInvoice]:
    """The invoices behind an aging figure: those with a balance on ``as_of``, filtered as the figure was."""
    if bucket is not None and bucket not in BUCKETS:
        raise ValueError(f"no aging bucket {bucket!r}")
    sql = f"""
        SELECT pi.invoice_id, pi.balance, ({_bucket_sql()}) AS bucket
          FROM ({_per_invoice_sql()}) pi
          JOIN {Invoice._meta.db_table} i ON i.id = pi.invoice_id
          JOIN {Matter._meta.db_table} m ON m.id = i.matter_id
         WHERE pi.balance <> 0
    """  # noqa: S608
    params: dict[str, Any] = {"as_of": as_of, "currency": currency}
    for name, column, value in (
        ("client", "i.client_id", client),
        ("matter", "i.matter_id", matter),
        ("attorney", "m.responsible_attorney_id", attorney),
    ):
        if value is not None:
            sql += f" AND {column} = %({name})s"
            params[name] = value.pk
    if unassigned:
        sql += " AND m.responsible_attorney_id IS NULL"
    found = [row for row in _fetch(sql, params) if bucket is None or row[2] == bucket]
    invoices = Invoice.objects.select_related("matter", "client", "matter__responsible_attorney").in_bulk(
        [row[0] for row in found]
    )
    aged = [
        AgedInvoice(
            invoice=invoices[pk],
            balance=Money(int(balance), currency),
            days_past_due=_days_past_due(invoices[pk], as_of),
            bucket=row_bucket,
        )
        for pk, balance, row_bucket in found
    ]
    return sorted(aged, key=lambda item: (-item.days_past_due, item.invoice.number or 0))
