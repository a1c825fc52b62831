"""Collections benchmark: ``uv run python -m bench.collections [--invoices N] [--clients N] [--paid-share P]``.

In a throwaway database (``portico_bench_collections``, on DATABASE_URL's server or
the embedded one, created here and dropped at the end) with a real firm onboarded
from the template:

- N issued invoices (default 1,000,000) spread over the two years before today
  across the clients' matters (one matter each, a few responsible attorneys),
  each with its issue entry (Dr receivable, Cr revenue) and, for a share of them,
  a payment with its entry (Dr operating bank, Cr receivable), bulk-loaded with
  COPY as ``bench.ledger`` does (the per-row balance and immutability triggers
  off for the load only; the monthly-totals trigger runs as in production);
- the aging (``billing.collections.aging.aging_report``, the same call the page,
  CSV, PDF and API make; a live query over the journal lines, nothing
  precomputed) by client, matter and attorney: median of five warm runs, and a
  check that its total equals the ledger's receivables;
- which reminders are due (``billing.collections.reminders.reminders_due``) over
  the same invoices, the query each firm's fan-out task starts with.

Goal (issue 13): aging <= 500 ms at 1,000,000 invoices. Exit 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench.firm import bench_firm
from bench.ledger import _ROW_TRIGGERS
from bench.table import GoalTable, warm_timings

DATABASE = "portico_bench_collections"
AGING_GOAL_SECONDS = 0.5
ATTORNEYS = 20


def make_matters(tenant: Any, count: int) -> list[tuple[int, int, int]]:
    """``count`` clients with one matter each (and its receivable account); (matter, client, receivable) ids."""
    from billing.ledger.accounts import account_for
    from billing.ledger.models import Account
    from core.models import Matter, User

    with tenant:
        User.objects.bulk_create(
            [User(email=f"lawyer{n}@bench.test", full_name=f"Lawyer {n}", is_staff=True) for n in range(ATTORNEYS)]
        )
        lawyers = list(User.objects.filter(email__startswith="lawyer").order_by("pk"))
        User.objects.bulk_create([User(email=f"client{n}@bench.test", full_name=f"Client {n}") for n in range(count)])
        clients = list(User.objects.filter(email__startswith="client").order_by("pk"))
        Matter.objects.bulk_create(
            [
                Matter(
                    reference=f"C-{n:05d}", title=f"Matter {n}", client=c, responsible_attorney=lawyers[n % ATTORNEYS]
                )
                for n, c in enumerate(clients)
            ]
        )
        account_for(Account.Kind.OPERATING_BANK, currency="USD")
        account_for(Account.Kind.REVENUE, billing_code="BENCH", currency="USD")
        return [
            (m.pk, m.client_id, account_for(Account.Kind.RECEIVABLE, matter=m, currency="USD").pk)
            for m in Matter.objects.select_related("client").order_by("pk")
        ]


def _next_ids(cursor: Any, schema: str, tables: list[str]) -> dict[str, int]:
    ids = {}
    for table in tables:
        cursor.execute(f'SELECT coalesce(max(id), 0) + 1 FROM "{schema}".{table}')
        ids[table] = cursor.fetchone()[0]
    return ids


def load_invoices(tenant: Any, matters: list[tuple[int, int, int]], count: int, paid_share: float) -> float:
    """COPY ``count`` issued invoices, their issue entries and, for ``paid_share`` of them, a payment."""
    from django.db import connection

    from billing.ledger.models import Account

    started = time.perf_counter()
    schema = tenant.schema_name
    with tenant:
        operating = Account.objects.get(kind=Account.Kind.OPERATING_BANK, currency="USD").pk
        revenue = Account.objects.get(kind=Account.Kind.REVENUE, billing_code="BENCH").pk
    connection.ensure_connection()
    raw = connection.connection
    from django.utils import timezone

    today = timezone.localdate()
    span = 730
    with raw.cursor() as cursor:
        ids = _next_ids(cursor, schema, ["billing_invoice", "billing_journalentry", "billing_journalline"])
        payment_id = _next_ids(cursor, schema, ["billing_payment"])["billing_payment"]
        for table, trigger in _ROW_TRIGGERS:
            cursor.execute(f'ALTER TABLE "{schema}".{table} DISABLE TRIGGER {trigger}')
        invoices: list[tuple[object, ...]] = []
        entries: list[tuple[object, ...]] = []
        lines: list[tuple[object, ...]] = []
        payments: list[tuple[object, ...]] = []
        entry, line = ids["billing_journalentry"], ids["billing_journalline"]
        every = max(1, round(1 / paid_share)) if paid_share else 0
        for n in range(count):
            invoice = ids["billing_invoice"] + n
            matter, client, receivable = matters[n % len(matters)]
            issued_on = today - timedelta(days=span - n * span // count)
            total = 100_00 + (n % 50) * 10_00
            paid = total if every and n % every == 0 else 0
            status = "paid" if paid else "issued"
            amounts = (total, paid, 0, 0, 0)
            dates = (issued_on, issued_on + timedelta(days=30), issued_on)
            invoices.append(
                (invoice, matter, client, n + 1, "USD", status, "manual", "", False, *amounts, *dates, "", entry)
            )
            entries.append((entry, "invoice.issue", "bench", issued_on, issued_on, "billing.invoice", str(invoice)))
            lines += [
                (line, entry, receivable, total, 0, "USD", issued_on),
                (line + 1, entry, revenue, 0, total, "USD", issued_on),
            ]
            entry, line = entry + 1, line + 2
            if paid:
                paid_on = min(today, issued_on + timedelta(days=20))
                entries.append(
                    (entry, "invoice.payment", "bench", paid_on, paid_on, "billing.payment", str(payment_id))
                )
                lines += [
                    (line, entry, operating, paid, 0, "USD", paid_on),
                    (line + 1, entry, receivable, 0, paid, "USD", paid_on),
                ]
                payments.append((payment_id, invoice, "check", paid, "USD", paid_on, "", entry, paid_on))
                payment_id, entry, line = payment_id + 1, entry + 1, line + 2
        loads: list[tuple[str, str, list[tuple[object, ...]]]] = [
            (
                "billing_journalentry",
                "id, kind, memo, occurred_on, posted_at, source_type, source_id",
                entries,
            ),
            (
                "billing_journalline",
                "id, entry_id, account_id, debit_minor, credit_minor, currency, occurred_on",
                lines,
            ),
            (
                "billing_invoice",
                "id, matter_id, client_id, number, currency, status, origin, origin_detail, needs_review, total_minor,"
                " paid_minor, credited_minor, to_client_credit_minor, written_off_minor, issued_on, due_on, created,"
                " void_reason, issue_entry_id",
                invoices,
            ),
            (
                "billing_payment",
                "id, invoice_id, method, amount_minor, currency, received_on, reference, entry_id, created",
                payments,
            ),
        ]
        for table, columns, rows in loads:
            with cursor.copy(f'COPY "{schema}".{table} ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        for table, trigger in _ROW_TRIGGERS:
            cursor.execute(f'ALTER TABLE "{schema}".{table} ENABLE TRIGGER {trigger}')
        for table in ("billing_journalentry", "billing_journalline", "billing_invoice", "billing_payment"):
            cursor.execute(
                f'SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT max(id) FROM "{schema}".{table}))',
                [f'"{schema}".{table}', "id"],
            )
            cursor.execute(f'ANALYZE "{schema}".{table}')
    raw.commit()
    return time.perf_counter() - started


_row = GoalTable().row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.collections", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000_000, help="issued invoices loaded (default 1,000,000)")
    parser.add_argument("--clients", type=int, default=5_000, help="clients, one matter each (default 5,000)")
    parser.add_argument("--paid-share", type=float, default=0.5, help="share of invoices paid (default 0.5)")
    args = parser.parse_args(argv)

    with bench_firm(DATABASE) as firm:
        tenant = firm.tenant
        matters = make_matters(tenant, args.clients)
        print(f"loading {args.invoices:,} invoices with COPY...", file=sys.stderr, flush=True)
        load_seconds = load_invoices(tenant, matters, args.invoices, args.paid_share)
        from billing.collections.aging import aging_report
        from billing.collections.reminders import reminders_due
        from billing.ledger.models import Account
        from billing.ledger.selectors import kind_total

        results: dict[str, tuple[list[float], Any]] = {}
        with tenant:
            from django.utils import timezone

            today = timezone.localdate()
            for by in ("client", "matter", "attorney"):
                print(f"timing the aging by {by}...", file=sys.stderr, flush=True)
                results[by] = warm_timings(functools.partial(aging_report, as_of=today, currency="USD", by=by))
            ledger = kind_total(Account.Kind.RECEIVABLE, currency="USD", as_of=today).minor
            due_timings, due = warm_timings(lambda: reminders_due(today=today), runs=3)

    print(f"\nCollections benchmark ({firm.server}, {os.cpu_count()} CPUs)\n")
    print(_row("metric", "value", "goal", "result"))
    print(_row(f"invoices loaded with COPY ({args.invoices:,})", f"{load_seconds:.1f} s"))
    passed = True
    for by, (timings, report) in results.items():
        median = statistics.median(timings)
        agrees = report.totals.total_minor == ledger
        ok = median <= AGING_GOAL_SECONDS and agrees
        passed = passed and ok
        print(
            _row(
                f"aging by {by}, median of 5 (s), {len(report.rows):,} rows",
                f"{median:.3f}",
                "<= 0.5 s",
                "PASS" if ok else "FAIL",
            )
        )
        print(_row(f"  total = ledger receivables ({ledger / 100:,.2f})", "yes" if agrees else "NO"))
    print(_row(f"reminders due ({len(due):,} pairs), median of 3 (s)", f"{statistics.median(due_timings):.3f}"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
