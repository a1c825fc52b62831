"""Routing benchmark (issue 17): ``uv run python -m bench.routing [--firms 1000] [--requests 2000]``.

On the many-firm harness (``bench.many_firms``: ``--firms`` firms onboarded the product's
way, each with a few clients, matters, documents' metadata and invoices; kept in the
bench database ``--database``, default ``portico_bench_firms``, for the next run;
``--drop`` removes it afterwards). Then, in this process, through Django's full
request handling (no network):

- throughput of a staff page (``/staff/matters/``, signed in as the firm's admin)
  routed by subdomain (every middleware, ``tenants.routing``) against the same view
  with the connection fixed to the firm and the two routing middlewares removed;
- p50 / p95 latency of that routed page with requests spread over 20 firms and over
  all of them (each firm served once first, as a process that has run for a while);
- the PostgreSQL backend's memory (``pg_backend_memory_contexts``) before and after
  one connection has served every firm: the catalog cache grows by each schema it
  touches, which is why production connections do not live for ever (below);
- Celery: a no-op task entering its firm (``tenants.routing.tenant_for_schema``)
  against the same no-op task in public, per task.

Goals (issue 17): routed ≥ 90% of fixed; p95 over all firms ≤ 1.2 times p95 over 20;
task routing ≤ 1 ms. Exit 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.firm import percentiles
from bench.many_firms import DATABASE, many_firms
from bench.table import GoalTable

PAGE = "/staff/matters/"


def signed_in_clients(firms: list[Any]) -> list[Any]:
    """A test client per firm, signed in as its admin, on the firm's own host."""
    from django.test import Client

    from core.models import User

    clients = []
    for tenant in firms:
        with tenant:
            admin = User.objects.filter(is_staff=True).order_by("pk").first()
            assert admin is not None, f"{tenant.schema_name} has no staff"
            client = Client(HTTP_HOST=tenant.get_primary_domain().domain)
            client.force_login(admin)
        clients.append(client)
    return clients


def _timed(get: Callable[[], Any], count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = get()
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return timings


def fixed_schema_client(tenant: Any, routed: Any) -> Any:
    """The same page with the connection fixed to ``tenant`` and no routing middleware (the baseline)."""
    from django.conf import settings
    from django.test import Client

    from tenants.db import tenant_connection

    # The firm stays on request.tenant (the 2FA and settings middleware read it), but nothing looks it up.
    settings.MIDDLEWARE = [
        "bench.routing.FixedTenantMiddleware" if m == _ROUTING[0] else m
        for m in settings.MIDDLEWARE
        if m != _ROUTING[1]
    ]
    tenant_connection().set_tenant(tenant)
    client = Client(HTTP_HOST=settings.PORTICO_BASE_DOMAIN)
    client.cookies = routed.cookies  # the same signed-in session, in the firm's schema
    return client


_ROUTING = ("core.middleware.TenantMiddleware", "core.middleware.TenantStatusMiddleware")


class FixedTenantMiddleware:
    """The baseline's stand-in for routing: the connection's firm on the request, with no lookup and no SET."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        from tenants.db import tenant_connection

        request.tenant = tenant_connection().tenant
        return self.get_response(request)


def routed_against_fixed(tenant: Any, routed: Any, count: int) -> tuple[list[float], list[float], tuple[int, int]]:
    """Timings of the routed and the fixed-schema page, interleaved (a loaded machine drifts alike for both),
    and the statements each sends per request."""
    from django.conf import settings
    from django.db import connection

    full = list(settings.MIDDLEWARE)  # the routed client built its middleware chain from these already
    fixed = fixed_schema_client(tenant, routed)
    fixed.get(PAGE)  # its chain is built now, without the routing middleware
    settings.MIDDLEWARE = full
    counts = []
    for client in (routed, fixed):
        sent: list[str] = []
        with connection.execute_wrapper(_tally(sent)):
            assert client.get(PAGE).status_code == 200
        counts.append(len(sent))
    routed_times: list[float] = []
    fixed_times: list[float] = []
    for _ in range(count):
        routed_times += _timed(lambda: routed.get(PAGE), 1)  # leaves the connection on the same firm
        fixed_times += _timed(lambda: fixed.get(PAGE), 1)
    return routed_times, fixed_times, (counts[0], counts[1])


def _tally(sent: list[str]) -> Callable[..., Any]:
    """A database execute wrapper that notes each statement sent."""

    def tally(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)
        return execute(sql, params, many, context)

    return tally


def backend_memory() -> int:
    """Bytes held by this connection's backend in all its memory contexts (PostgreSQL 14+)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        return int(cursor.fetchone()[0])


def task_overhead(tenant: Any, runs: int) -> tuple[float, float]:
    """Median seconds per no-op task: in public (no firm), and entering ``tenant``'s schema."""
    from core.celery import app
    from tenants.db import tenant_connection

    @app.task(name="bench.routing.noop_public", tenant_required=False)
    def noop_public() -> None:
        return None

    @app.task(name="bench.routing.noop_firm")
    def noop_firm() -> None:
        return None

    def run(task: Any, schema: str) -> float:
        timings = []
        for _ in range(runs):
            tenant_connection().set_schema_to_public()  # as a worker is between tasks
            started = time.perf_counter()
            task.apply(headers={"_schema_name": schema})
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    run(noop_firm, tenant.schema_name)  # the firm is now in this process's cache
    return run(noop_public, "public"), run(noop_firm, tenant.schema_name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1000, help="firms in all (default 1000)")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per measurement")
    parser.add_argument("--database", default=DATABASE, help=f"the harness's bench database (default {DATABASE})")
    parser.add_argument("--fresh", action="store_true", help="onboard every firm again (drop the kept database first)")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--jobs", type=int, default=1, help="firms onboarded at once, when the harness onboards")
    args = parser.parse_args()

    with many_firms(args.firms, name=args.database, fresh=args.fresh, drop=args.drop, jobs=args.jobs) as bench:
        firms = bench.firms
        clients = signed_in_clients(firms)
        print("measuring...", file=sys.stderr, flush=True)
        from django.db import connections

        connections.close_all()  # a fresh backend: onboarding has filled this one's catalog cache with every firm

        first = clients[0]
        _timed(lambda: first.get(PAGE), 50)  # warm: plans, templates, the routing cache
        few = clients[:20]
        for client in few:
            client.get(PAGE)
        memory_before = backend_memory()
        for client in clients:  # every firm served once by this process and this connection
            assert client.get(PAGE).status_code == 200
        memory_after = backend_memory()
        spread_few: list[float] = []
        spread_all: list[float] = []
        for _ in range(args.requests):  # interleaved: a loaded machine drifts alike for both
            spread_few += _timed(lambda: random.choice(few).get(PAGE), 1)
            spread_all += _timed(lambda: random.choice(clients).get(PAGE), 1)
        routed, fixed, queries = routed_against_fixed(firms[0], first, args.requests)
        public_task, firm_task = task_overhead(firms[0], runs=2000)

    table = GoalTable(name=58)
    routed_rps, fixed_rps = len(routed) / sum(routed), len(fixed) / sum(fixed)
    share = routed_rps / fixed_rps
    few_p50, few_p95, _ = percentiles(spread_few)
    all_p50, all_p95, _ = percentiles(spread_all)
    ratio = all_p95 / few_p95
    overhead_ms = (firm_task - public_task) * 1000
    verdicts = {"share": share >= 0.9, "ratio": ratio <= 1.2, "task": overhead_ms <= 1.0}
    print()
    print(f"Routing, {len(firms)} firms on {bench.server} ({bench.summary()}); {PAGE}")
    print(table.row("measure", "value", "goal", "result"))
    print(table.row("staff page, fixed schema, no routing middleware", f"{fixed_rps:.0f} req/s"))
    print(table.row("staff page, routed by subdomain", f"{routed_rps:.0f} req/s"))
    print(table.row("statements per request, routed / fixed", f"{queries[0]} / {queries[1]}"))
    print(table.row("routed / fixed", f"{share:.1%}", "≥ 90%", "PASS" if verdicts["share"] else "FAIL"))
    print(table.row("p50 / p95, spread over 20 firms", f"{few_p50 * 1000:.1f} / {few_p95 * 1000:.1f} ms"))
    print(table.row(f"p50 / p95, spread over {len(firms)} firms", f"{all_p50 * 1000:.1f} / {all_p95 * 1000:.1f} ms"))
    print(table.row("p95 all firms / p95 20 firms", f"{ratio:.2f}x", "≤ 1.2x", "PASS" if verdicts["ratio"] else "FAIL"))
    print(table.row("backend memory, a new connection after 20 firms", f"{memory_before / 2**20:.1f} MiB"))
    print(table.row(f"backend memory, then after all {len(firms)} firms", f"{memory_after / 2**20:.1f} MiB", "bounded"))
    print(table.row("no-op task in public (median)", f"{public_task * 1000:.3f} ms"))
    print(table.row("no-op task entering its firm (median)", f"{firm_task * 1000:.3f} ms"))
    print(table.row("task routing overhead", f"{overhead_ms:.3f} ms", "≤ 1 ms", "PASS" if verdicts["task"] else "FAIL"))
    print()
    print(
        "Backend memory is bounded by connection lifetime, not by the number of firms: Django opens a\n"
        "connection per request (PORTICO_DB_CONN_MAX_AGE 0) or keeps one at most that many seconds;\n"
        "pgbouncer closes server connections after server_lifetime (infra/pgbouncer), and gunicorn\n"
        "recycles a worker after max_requests (infra/gunicorn.conf.py)."
    )
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
