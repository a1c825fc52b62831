"""Audit log benchmark: ``uv run python -m bench.audit [--entries N] [--appends N]``.

In a throwaway database (``portico_bench_audit``, on DATABASE_URL's server or the
embedded one, created here and dropped at the end) with a real firm onboarded
from the template:

- append cost: ``audit_record`` called one after another, each committed on its
  own (lock the chain head, hash, insert, move the head), with an actor, a target,
  a request's address and browser, and a small data dict: p50/p95/p99 per entry.
  For reading it: the same appends inside one open transaction (what the audit
  adds to a caller's own transaction), and the server's floor for any committed
  write (a one-row INSERT and COMMIT, i.e. the WAL flush);
- verify throughput: a valid chain of N entries (default 1,000,000) is generated
  in Python and loaded with COPY, then ``audit_verify`` recomputes all of it.

Goals (issue 4): append p95 <= 2 ms; verify >= 100,000 entries/s. Exit 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.firm import bench_firm, percentiles
from bench.table import GoalTable

DATABASE = "portico_bench_audit"
APPEND_P95_GOAL_MS = 2.0
VERIFY_GOAL_PER_SECOND = 100_000


def measure_appends(tenant: Any, count: int, *, committed: bool = True) -> list[float]:
    """Milliseconds per ``audit_record``, sequentially: each committed, or all in one open transaction."""
    from contextlib import nullcontext

    from django.db import transaction
    from django.test import RequestFactory

    from core.audit.actions import AuditAction
    from core.audit.context import request_origin
    from core.audit.services import audit_record
    from core.models import User

    with tenant:
        actor = User.objects.get(email="a@bench.test")
        request = RequestFactory().get("/matters/42/documents/7", REMOTE_ADDR="203.0.113.10")
        request.META["HTTP_USER_AGENT"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"
        for n in range(50):  # warm up: connection, caches
            audit_record(AuditAction.DOCUMENT_VIEWED, actor=actor, data={"n": n})
        timings = []
        with request_origin(request), nullcontext() if committed else transaction.atomic():
            for n in range(count):
                started = time.perf_counter()
                audit_record(
                    AuditAction.DOCUMENT_DOWNLOADED, actor=actor, target=actor, data={"document": n, "bytes": 1}
                )
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure_commit_floor(count: int) -> list[float]:
    """Milliseconds per one-row INSERT and COMMIT on a scratch table: what any committed write costs here."""
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS public.bench_commit_floor (n integer)")
        for n in range(count):
            started = time.perf_counter()
            cursor.execute("INSERT INTO public.bench_commit_floor VALUES (%s)", [n])
            timings.append((time.perf_counter() - started) * 1000)
        cursor.execute("DROP TABLE public.bench_commit_floor")
    return timings


def load_chain(tenant: Any, count: int) -> float:
    """Append ``count`` valid entries after the current head with COPY; returns the seconds it took."""
    from django.db import connection

    from core.audit.chain import GENESIS, format_timestamp, row_hash

    started = time.perf_counter()
    with tenant, connection.cursor() as cursor:
        cursor.execute("SELECT sequence, hash FROM audit_auditchainhead WHERE id = 1")
        sequence, prev = cursor.fetchone() or (0, GENESIS)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    schema = tenant.schema_name
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        columns = (
            "sequence, created, tenant, action, actor_id, actor_email, target_type, target_id, target_label,"
            " ip, user_agent, data, prev_hash, hash"
        )
        with cursor.copy(f'COPY "{schema}".audit_auditentry ({columns}) FROM STDIN') as copy:
            for n in range(count):
                sequence += 1
                created = format_timestamp(moment + timedelta(milliseconds=n))
                fields = (
                    sequence,
                    created,
                    schema,
                    "document.view",
                    1 + n % 40,
                    f"user{n % 40}@bench.test",
                    "documents.document",
                    str(n % 5000),
                    f"I-130 petition {n % 5000}.pdf",
                    f"198.51.100.{n % 250}",
                    "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0",
                    '{"matter":' + str(n % 700) + "}",
                    prev,
                )
                prev = row_hash(fields)
                copy.write_row((*fields, prev))
        cursor.execute(
            f'UPDATE "{schema}".audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 1', [sequence, prev]
        )
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{schema}".audit_auditentry')
    return time.perf_counter() - started


def measure_verify(tenant: Any) -> tuple[int, float, bool, str]:
    from core.audit.verify import audit_verify

    report = audit_verify(tenant=tenant)
    return report.checked, report.seconds, report.ok, report.problem.message if report.problem else ""


_row = GoalTable(name=40, value=16, goal=12).row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="chain length to verify (default: 1,000,000)")
    parser.add_argument("--appends", type=int, default=2_000, help="appends timed (default: 2,000)")
    args = parser.parse_args(argv)

    with bench_firm(DATABASE) as firm:
        tenant = firm.tenant
        print(f"timing {args.appends:,} appends...", file=sys.stderr, flush=True)
        timings = measure_appends(tenant, args.appends)
        in_transaction = measure_appends(tenant, args.appends, committed=False)
        floor = measure_commit_floor(args.appends)
        print(f"loading a chain of {args.entries:,} entries with COPY...", file=sys.stderr, flush=True)
        load_seconds = load_chain(tenant, args.entries)
        print("verifying...", file=sys.stderr, flush=True)
        checked, seconds, ok, problem = measure_verify(tenant)

    p50, p95, p99 = percentiles(timings)
    rate = checked / seconds if seconds else 0.0
    append_pass = p95 <= APPEND_P95_GOAL_MS
    verify_pass = ok and rate >= VERIFY_GOAL_PER_SECOND
    print(f"\nAudit log benchmark ({firm.server}, {os.cpu_count()} CPUs)\n")
    print(_row("metric", "value", "goal", "result"))
    print(_row(f"append p50 (ms/entry, n={len(timings):,})", f"{p50:.3f}"))
    print(
        _row("append p95 (ms/entry)", f"{p95:.3f}", f"<= {APPEND_P95_GOAL_MS:g} ms", "PASS" if append_pass else "FAIL")
    )
    print(_row("append p99 (ms/entry)", f"{p99:.3f}"))
    print(_row("append mean (ms/entry)", f"{statistics.fmean(timings):.3f}"))
    print(_row("  in a caller's transaction p50/p95", "{:.3f} / {:.3f}".format(*percentiles(in_transaction)[:2])))
    print(_row("  server's commit floor p50/p95", "{:.3f} / {:.3f}".format(*percentiles(floor)[:2])))
    print(_row(f"chain loaded with COPY ({args.entries:,})", f"{load_seconds:.1f} s"))
    print(_row("verify: entries checked", f"{checked:,}"))
    print(_row("verify: seconds", f"{seconds:.2f}"))
    print(
        _row(
            "verify throughput (entries/s)",
            f"{rate:,.0f}",
            f">= {VERIFY_GOAL_PER_SECOND:,}",
            "PASS" if verify_pass else f"FAIL{'' if ok else ' (chain reported broken: ' + problem + ')'}",
        )
    )
    return 0 if append_pass and verify_pass else 1


if __name__ == "__main__":
    sys.exit(main())
