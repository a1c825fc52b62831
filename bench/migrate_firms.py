"""Migrations across many firms (issue 17 item 4): ``uv run python -m bench.migrate_firms [--firms 1000]``.

On the many-firm harness (``bench.many_firms``: ``--firms`` firms onboarded the product's
way, each with a few clients, matters, documents' metadata and invoices; kept in the
bench database ``--database``, default ``portico_bench_firms``, for the next run, and
left migrated; ``--drop`` removes it afterwards). A real migration is then taken back
from the template and every firm and applied again, twice: the newest of billing (today
0018: three new columns, a changed choice list and a new table with its indexes and
foreign keys),
taken back with the reverse SQL Django writes for it and its history row removed, as
in a database one release behind.

- ``portico tenants migrate`` (``tenants.migrate.migrate_all``): the template through
  Django's executor, then the firms in parallel, each in its own transaction;
- taken back again, django-tenants' ``migrate_schemas --executor=multiprocessing`` with
  as many processes as cores;
- ``portico tenants migrate`` with nothing to apply.

Goals (issue 17): at least 5x faster than ``migrate_schemas`` multiprocessing and at
most 120 s for 1,000 firms; nothing to apply at most 2 s. Exit 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from bench.many_firms import DATABASE, many_firms
from bench.table import GoalTable


def _latest() -> tuple[str, str]:
    from django.db.migrations.loader import MigrationLoader

    (leaf,) = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("billing")
    return (str(leaf[0]), str(leaf[1]))


def _schemas() -> list[str]:
    from tenants.models import Tenant

    return list(
        Tenant.objects.exclude(schema_name="public").order_by("schema_name").values_list("schema_name", flat=True)
    )


def take_back(schemas: list[str]) -> float:
    """Un-apply billing's newest migration in every schema (Django's reverse SQL, its history row); seconds."""
    from django.db import connection, transaction
    from django.db.migrations.loader import MigrationLoader
    from django_tenants.utils import schema_context

    started = time.perf_counter()
    latest = _latest()
    with schema_context(schemas[-1]):
        loader = MigrationLoader(connection)
        backwards = "\n".join(loader.collect_sql([(loader.graph.nodes[latest], True)]))
    for schema in schemas:
        with schema_context(schema), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(backwards)
            cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", list(latest))
    return time.perf_counter() - started


def behind(schemas: list[str]) -> int:
    from tenants.schema_state import pending_migrations

    return len(pending_migrations(schemas))


def timed(call: Any) -> float:
    from django.db import connections

    connections.close_all()  # the multiprocessing executor forks: no connection may be shared
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1000, help="firms in all (default 1000)")
    parser.add_argument("--skip-migrate-schemas", action="store_true", help="only portico tenants migrate (quicker)")
    parser.add_argument("--database", default=DATABASE, help=f"the harness's bench database (default {DATABASE})")
    parser.add_argument("--fresh", action="store_true", help="onboard every firm again (drop the kept database first)")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--jobs", type=int, default=1, help="firms onboarded at once, when the harness onboards")
    args = parser.parse_args()

    with many_firms(args.firms, name=args.database, fresh=args.fresh, drop=args.drop, jobs=args.jobs) as bench:
        from django.conf import settings
        from django.core.management import call_command

        from tenants.migrate import migrate_all, migration_jobs

        schemas = _schemas()
        print(f"taking {_latest()[1]} back from {len(schemas)} schemas...", file=sys.stderr, flush=True)
        take_back(schemas)
        assert behind(schemas) == len(schemas)
        print("portico tenants migrate...", file=sys.stderr, flush=True)
        ours = timed(migrate_all)
        assert behind(schemas) == 0, "portico tenants migrate left schemas behind"
        processes = os.cpu_count() or 2
        theirs: float | None = None
        if not args.skip_migrate_schemas:
            take_back(schemas)
            assert behind(schemas) == len(schemas)
            settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = processes
            print(f"migrate_schemas --executor=multiprocessing ({processes})...", file=sys.stderr, flush=True)
            theirs = timed(
                lambda: call_command("migrate_schemas", executor="multiprocessing", interactive=False, verbosity=0)
            )
            assert behind(schemas) == 0, "migrate_schemas left schemas behind"
        nothing = timed(migrate_all)
        latest = _latest()

    table = GoalTable(name=62)
    speedup = None if theirs is None else theirs / ours
    verdicts = {
        "speedup": speedup is None or speedup >= 5,
        "ours": ours <= 120 or len(schemas) < 1000,
        "nothing": nothing <= 2,
    }
    print()
    print(f"Migrating {len(schemas) - 1} firms and the template on {bench.server}: {'.'.join(latest)}")
    print(bench.summary())
    print(table.row("measure", "value", "goal", "result"))
    print(
        table.row(
            f"portico tenants migrate ({migration_jobs()} at once)",
            f"{ours:.1f} s",
            "≤ 120 s",
            "PASS" if verdicts["ours"] else "FAIL",
        )
    )
    if theirs is None or speedup is None:  # --skip-migrate-schemas
        print(table.row(f"migrate_schemas --executor=multiprocessing ({processes})", "not measured"))
        print(table.row("speed-up", "not measured", "≥ 5x"))
    else:
        print(table.row(f"migrate_schemas --executor=multiprocessing ({processes})", f"{theirs:.1f} s"))
        print(table.row("speed-up", f"{speedup:.1f}x", "≥ 5x", "PASS" if verdicts["speedup"] else "FAIL"))
    print(
        table.row(
            "portico tenants migrate, nothing to apply",
            f"{nothing:.2f} s",
            "≤ 2 s",
            "PASS" if verdicts["nothing"] else "FAIL",
        )
    )
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
