"""Ledger benchmark: ``uv run python -m bench.ledger [--postings N] [--clients N] [--timed N]``.

In a throwaway database (``portico_bench_ledger``, on DATABASE_URL's server or
the embedded one, created here and dropped at the end) with a real firm
onboarded from the template:

- posting throughput: ``journal_post`` (a two-line entry, audited, committed on
  its own) and ``trust_deposit`` (deposit row + entry + two audit records),
  one after another: postings per second and p50/p95 latency;
- the three-way report over N postings (default 1,000,000 journal entries, i.e.
  2,000,000 lines) spread over the twelve months of 2025 across the clients'
  trust accounts, with a bank statement whose lines are matched to every
  trust-bank line but those of the last three days (deposits in transit and
  outstanding withdrawals). The data is bulk-loaded with COPY, with the
  ledger's per-row balance and immutability triggers switched off for the load
  only (every generated entry balances by construction; a single aggregate query
  checks that afterwards); the statement-level trigger that keeps the monthly
  account totals runs as in production.
  The report itself is ``billing.reconciliation.selectors.three_way`` — the
  product's selector, the same call the page, PDF and CSV make — timed warm,
  median of five runs, with the per-client list.

Goal (issue 6): the three-way report in <= 1 s over 1,000,000 postings. Exit 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from typing import Any

from bench.firm import bench_firm, percentiles
from bench.table import GoalTable, warm_timings

DATABASE = "portico_bench_ledger"
REPORT_GOAL_SECONDS = 1.0
YEAR_START = date(2025, 1, 1)
PERIOD_END = date(2025, 12, 31)
IN_TRANSIT_DAYS = 3
_ROW_TRIGGERS = [
    ("billing_journalentry", "billing_journalentry_balanced"),
    ("billing_journalentry", "billing_journalentry_immutable"),
    ("billing_journalline", "billing_journalline_balanced"),
    ("billing_journalline", "billing_journalline_immutable"),
    # Statement-level, but an anti-join over the whole load; the generated entries are new by construction.
    ("billing_journalline", "billing_journalline_one_statement"),
]


def make_clients(tenant: Any, count: int) -> list[int]:
    """``count`` clients with one matter each and their trust accounts; returns the trust account ids."""
    from billing.ledger.accounts import account_for
    from billing.ledger.models import Account
    from core.models import Matter, MatterType, User

    with tenant:
        User.objects.bulk_create([User(email=f"client{n}@bench.test", full_name=f"Client {n}") for n in range(count)])
        clients = list(User.objects.filter(email__startswith="client").order_by("pk"))
        kind = MatterType.objects.order_by("pk").first()
        Matter.objects.bulk_create(
            [
                Matter(reference=f"B-{n:05d}", title=f"Matter {n}", matter_type=kind, client=c)
                for n, c in enumerate(clients)
            ]
        )
        matters = Matter.objects.select_related("client").order_by("pk")
        account_for(Account.Kind.TRUST_BANK, currency="USD")
        return [account_for(Account.Kind.CLIENT_TRUST, matter=m, currency="USD").pk for m in matters]


def measure_postings(tenant: Any, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds per committed ``journal_post`` and per committed ``trust_deposit``."""
    from billing.ledger.accounts import account_for
    from billing.ledger.models import Account
    from billing.ledger.services import Line, journal_post
    from billing.money import Money
    from billing.trust.services import trust_deposit
    from core.models import Matter, User

    with tenant:
        admin = User.objects.get(email="a@bench.test")
        matter = Matter.objects.select_related("client").order_by("pk").first()
        assert matter is not None
        bank = account_for(Account.Kind.OPERATING_BANK, currency="USD")
        revenue = account_for(Account.Kind.REVENUE, currency="USD")
        posts, deposits = [], []
        for n in range(count):
            started = time.perf_counter()
            journal_post(
                kind="bench.fee",
                lines=[Line.debit(bank, Money(100 + n)), Line.credit(revenue, Money(100 + n))],
                memo="fee",
                by=admin,
            )
            posts.append((time.perf_counter() - started) * 1000)
        for n in range(count):
            started = time.perf_counter()
            trust_deposit(client=matter.client, matter=matter, amount=Money(100 + n), method="cash", by=admin)
            deposits.append((time.perf_counter() - started) * 1000)
    return posts, deposits


def load_postings(tenant: Any, trust_accounts: list[int], count: int) -> float:
    """COPY ``count`` balanced trust entries (deposits and disbursements) and the matching statement."""
    from django.db import connection

    from billing.ledger.models import Account
    from core.models import User

    started = time.perf_counter()
    schema = tenant.schema_name
    with tenant:
        bank = Account.objects.get(kind=Account.Kind.TRUST_BANK, currency="USD").pk
        admin = User.objects.get(email="a@bench.test").pk
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM billing_journalentry")
            first_entry = cursor.fetchone()[0] + 1
            cursor.execute("SELECT coalesce(max(id), 0) FROM billing_journalline")
            first_line = cursor.fetchone()[0] + 1
    days = (PERIOD_END - YEAR_START).days + 1
    cutoff = PERIOD_END - timedelta(days=IN_TRANSIT_DAYS)
    connection.ensure_connection()
    raw = connection.connection
    clients = len(trust_accounts)
    with raw.cursor() as cursor:
        # The per-row balance and immutability checks are off for the load (each generated entry
        # balances; checked after); the statement-level monthly-totals trigger stays on.
        for table, trigger in _ROW_TRIGGERS:
            cursor.execute(f'ALTER TABLE "{schema}".{table} DISABLE TRIGGER {trigger}')
        cursor.execute(
            f'INSERT INTO "{schema}".billing_bankstatement (account_id, format, filename, period_start, period_end,'
            " closing_balance_minor, currency, imported_by_id, imported_at)"
            " VALUES (%s, 'csv', 'bench.csv', %s, %s, 0, 'USD', %s, now()) RETURNING id",
            [bank, YEAR_START, PERIOD_END, admin],
        )
        statement = cursor.fetchone()[0]
        statement_balance = 0
        entry_columns = "id, kind, memo, occurred_on, posted_at, posted_by_id, source_type, source_id"
        line_columns = "id, entry_id, account_id, debit_minor, credit_minor, currency, occurred_on"
        entries: list[tuple[object, ...]] = []
        lines: list[tuple[object, ...]] = []
        statement_lines: list[tuple[object, ...]] = []
        line_id = first_line
        for n in range(count):
            entry = first_entry + n
            day = YEAR_START + timedelta(days=n * days // count)
            client = trust_accounts[n % clients]
            # Per client: two deposits of 250.00, then a disbursement of 100.00, so no balance goes negative.
            outflow = (n // clients) % 3 == 2
            amount = 100_00 if outflow else 250_00
            entries.append(
                (entry, "trust.disbursement" if outflow else "trust.deposit", "bench", day, day, admin, "", "")
            )
            if outflow:
                pair = ((line_id, entry, client, amount, 0), (line_id + 1, entry, bank, 0, amount))
                bank_line = line_id + 1
            else:
                pair = ((line_id, entry, bank, amount, 0), (line_id + 1, entry, client, 0, amount))
                bank_line = line_id
            lines.extend((*row, "USD", day) for row in pair)
            line_id += 2
            if day <= cutoff:
                signed = -amount if outflow else amount
                statement_balance += signed
                statement_lines.append((statement, day, signed, "bench", "", "", bank_line, day, "auto"))
        with cursor.copy(f'COPY "{schema}".billing_journalentry ({entry_columns}) FROM STDIN') as copy:
            for row in entries:
                copy.write_row(row)
        with cursor.copy(f'COPY "{schema}".billing_journalline ({line_columns}) FROM STDIN') as copy:
            for row in lines:
                copy.write_row(row)
        columns = (
            "statement_id, posted_on, amount_minor, description, reference, bank_id, matched_line_id, matched_on,"
            " matched_how"
        )
        with cursor.copy(f'COPY "{schema}".billing_statementline ({columns}) FROM STDIN') as copy:
            for row in statement_lines:
                copy.write_row(row)
        cursor.execute(
            f'UPDATE "{schema}".billing_bankstatement SET closing_balance_minor = %s WHERE id = %s',
            [statement_balance, statement],
        )
        for table, trigger in _ROW_TRIGGERS:
            cursor.execute(f'ALTER TABLE "{schema}".{table} ENABLE TRIGGER {trigger}')
        for table in ("billing_journalentry", "billing_journalline", "billing_statementline", "billing_account"):
            cursor.execute(
                f'SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT max(id) FROM "{schema}".{table}))',
                [f'"{schema}".{table}', "id"],
            )
            cursor.execute(f'ANALYZE "{schema}".{table}')
    raw.commit()
    return time.perf_counter() - started


def check_balanced(tenant: Any) -> list[int]:
    from billing.ledger.selectors import unbalanced_entries

    with tenant:
        return unbalanced_entries()


def measure_report(tenant: Any, runs: int = 5) -> tuple[list[float], Any]:
    from billing.reconciliation.selectors import three_way

    with tenant:
        return warm_timings(lambda: three_way(period_end=PERIOD_END, currency="USD"), runs)


_row = GoalTable(name=46, value=18).row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postings", type=int, default=1_000_000, help="journal entries loaded (default 1,000,000)")
    parser.add_argument("--clients", type=int, default=2_000, help="clients, one matter each (default 2,000)")
    parser.add_argument("--timed", type=int, default=500, help="postings timed one by one (default 500)")
    args = parser.parse_args(argv)

    with bench_firm(DATABASE) as firm:
        tenant = firm.tenant
        accounts = make_clients(tenant, args.clients)
        print(f"timing {args.timed:,} postings of each kind...", file=sys.stderr, flush=True)
        posts, deposits = measure_postings(tenant, args.timed)
        print(f"loading {args.postings:,} postings with COPY...", file=sys.stderr, flush=True)
        load_seconds = load_postings(tenant, accounts, args.postings)
        unbalanced = check_balanced(tenant)
        print("timing the three-way report...", file=sys.stderr, flush=True)
        timings, report = measure_report(tenant)

    post_p50, post_p95 = percentiles(posts)[:2]
    dep_p50, dep_p95 = percentiles(deposits)[:2]
    median = statistics.median(timings)
    passed = median <= REPORT_GOAL_SECONDS and report.balanced and not unbalanced
    print(f"\nLedger benchmark ({firm.server}, {os.cpu_count()} CPUs)\n")
    print(_row("metric", "value", "goal", "result"))
    print(_row("journal_post p50 / p95 (ms, committed)", f"{post_p50:.2f} / {post_p95:.2f}"))
    print(_row("journal_post throughput (entries/s, 1 writer)", f"{1000 / statistics.fmean(posts):,.0f}"))
    print(_row("trust_deposit p50 / p95 (ms, committed)", f"{dep_p50:.2f} / {dep_p95:.2f}"))
    print(_row("trust_deposit throughput (deposits/s)", f"{1000 / statistics.fmean(deposits):,.0f}"))
    print(_row(f"postings loaded with COPY ({args.postings:,})", f"{load_seconds:.1f} s"))
    print(_row("unbalanced entries after load", f"{len(unbalanced)}"))
    print(_row("client trust accounts in the report", f"{len(report.clients):,}"))
    print(
        _row(
            "three-way: adjusted bank = book = clients",
            f"{report.book_balance.minor / 100:,.2f}",
            "",
            "balanced" if report.balanced else "NOT balanced",
        )
    )
    print(
        _row(
            "three-way report, median of 5 (s)",
            f"{median:.3f}",
            f"<= {REPORT_GOAL_SECONDS:g} s",
            "PASS" if passed else "FAIL",
        )
    )
    print(_row("three-way report, slowest of 5 (s)", f"{max(timings):.3f}"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
