"""Checking a firm's ledger against itself and its audit log: ``portico ledger verify --tenant SLUG``.

Three checks, in one snapshot, each reporting problems in a stable order (the
first one is what the CLI names):

* ``month_total`` — every monthly account total (``AccountMonth``, which the
  reports and the three-way reconciliation read) recomputed from the lines; by
  month, then account name;
* ``unbalanced`` — an entry whose debits and credits differ, or with fewer than two lines;
* the journal against the audit chain: every posting is audited with its lines
  (``ledger.post`` / ``ledger.reverse``), so an entry whose lines, kind or date
  differ from its record is ``entry_altered``, a recorded entry that is gone is
  ``entry_missing`` (deleted, truncated), and an entry nobody recorded is
  ``entry_unrecorded`` (written past the services). Entries older than the
  audit log's retention (pruned records) are only checked by the first two.

With a ``tenant``, the audit chain itself is verified too (``core.audit.verify``),
since the third check is only as good as the log it reads.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from billing.ledger.selectors import unbalanced_entries
from tenants.models import Tenant


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    account: str | None = None
    month: date | None = None
    entry: int | None = None


@dataclass
class LedgerReport:
    tenant: str
    months_checked: int = 0
    entries_checked: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "months_checked": self.months_checked,
            "entries_checked": self.entries_checked,
            "seconds": round(self.seconds, 3),
            "problems": [
                {
                    "kind": problem.kind,
                    "message": problem.message,
                    "account": problem.account,
                    "month": problem.month.isoformat() if problem.month else None,
                    "entry": problem.entry,
                }
                for problem in self.problems
            ],
        }


_MONTHS = """
WITH recomputed AS (
    SELECT account_id, date_trunc('month', occurred_on)::date AS month,
           sum(debit_minor) AS debits, sum(credit_minor) AS credits
    FROM billing_journalline GROUP BY 1, 2
)
SELECT coalesce(r.account_id, m.account_id), coalesce(r.month, m.month), account.name,
       coalesce(r.debits, 0), coalesce(r.credits, 0), m.debit_minor, m.credit_minor
FROM recomputed r
FULL JOIN billing_accountmonth m ON m.account_id = r.account_id AND m.month = r.month
JOIN billing_account account ON account.id = coalesce(r.account_id, m.account_id)
ORDER BY 2, 3
"""

# Each entry with its lines as text, beside its audit record (if any); full join: either side may be missing.
_ENTRIES = """
WITH book AS (
    SELECT entry.id, entry.kind, entry.occurred_on, entry.posted_at,
           array_remove(array_agg(account.name || '|' || line.debit_minor || '|' || line.credit_minor
                                  || '|' || line.currency), NULL) AS lines
    FROM billing_journalentry entry
    LEFT JOIN billing_journalline line ON line.entry_id = entry.id
    LEFT JOIN billing_account account ON account.id = line.account_id
    GROUP BY entry.id
), recorded AS (
    SELECT DISTINCT ON (target_id) target_id::bigint AS id, data
    FROM audit_auditentry
    WHERE action IN ('ledger.post', 'ledger.reverse') AND target_type = 'billing.journalentry'
      AND target_id ~ '^[0-9]+$'
    ORDER BY target_id, sequence
)
SELECT coalesce(book.id, recorded.id), book.kind, book.occurred_on, book.posted_at, book.lines, recorded.data
FROM book FULL JOIN recorded ON recorded.id = book.id
ORDER BY 1
"""


def ledger_verify(*, tenant: Tenant) -> LedgerReport:
    """Recompute the firm's monthly totals and hold its journal against its audit log (read only)."""
    started = time.perf_counter()
    report = LedgerReport(tenant=tenant.slug)
    with tenant, transaction.atomic():
        if not connection.savepoint_ids:  # one snapshot, when this is the transaction's first query
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _check_months(report)
        report.problems += [
            Problem("unbalanced", f"entry JE-{entry}: its debits and credits differ", entry=entry)
            for entry in unbalanced_entries()
        ]
        _check_entries(report)
    _check_audit_chain(tenant, report)
    report.seconds = time.perf_counter() - started
    return report


def _check_months(report: LedgerReport) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_MONTHS)
        for _account_id, month, name, debits, credits, kept_debits, kept_credits in cursor.fetchall():
            report.months_checked += 1
            if (debits, credits) == (kept_debits, kept_credits):
                continue
            kept = "no total" if kept_debits is None else f"debits {kept_debits}, credits {kept_credits}"
            report.problems.append(
                Problem(
                    "month_total",
                    f"account {name!r}, month {month:%Y-%m}: the monthly total says {kept},"
                    f" its lines sum to debits {debits}, credits {credits} (minor units)",
                    account=name,
                    month=month,
                )
            )


def _audit_starts() -> object | None:
    """When the firm's audit log now begins (older records were pruned past retention), or None when empty."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(created) FROM audit_auditentry")
        row = cursor.fetchone()
    return row[0] if row else None


def _check_entries(report: LedgerReport) -> None:
    log_starts = _audit_starts()
    with connection.cursor() as cursor:
        cursor.execute(_ENTRIES)
        for entry_id, kind, occurred_on, posted_at, lines, data in cursor.fetchall():
            if kind is None:
                report.problems.append(
                    Problem(
                        "entry_missing",
                        f"entry JE-{entry_id}: recorded in the audit log but missing from the journal",
                        entry=entry_id,
                    )
                )
                continue
            report.entries_checked += 1
            if data is None:
                if log_starts is not None and posted_at < log_starts:
                    continue  # its record was pruned with the log's prefix
                report.problems.append(
                    Problem(
                        "entry_unrecorded",
                        f"entry JE-{entry_id}: not in the audit log (written past the ledger's services)",
                        entry=entry_id,
                    )
                )
                continue
            if _differs(json.loads(data) if isinstance(data, str) else data, kind, occurred_on, lines or []):
                report.problems.append(
                    Problem(
                        "entry_altered",
                        f"entry JE-{entry_id}: its lines, kind or date differ from its audit record",
                        entry=entry_id,
                    )
                )


def _differs(recorded: dict[str, object], kind: str, occurred_on: date, lines: list[str]) -> bool:
    wanted = sorted("|".join(str(part) for part in line) for line in recorded.get("lines", []))  # type: ignore[attr-defined]
    return (
        recorded.get("kind") != kind
        or recorded.get("occurred_on") != occurred_on.isoformat()
        or wanted != sorted(lines)
    )


def _check_audit_chain(tenant: Tenant, report: LedgerReport) -> None:
    from core.audit.verify import audit_verify

    chain = audit_verify(tenant=tenant)
    if chain.problem is not None:
        report.problems.append(Problem("audit_chain", f"the audit log is not intact: {chain.problem.message}"))
