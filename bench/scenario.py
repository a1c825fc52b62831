"""One benchmark scenario: one model set, one fresh database, one process.

Started by ``bench.onboarding`` with DATABASE_URL pointing at the throwaway
database and ``bench.settings`` as the settings; writes its measurements as
JSON. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import django


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p90": p90,
        "min": ordered[0],
        "max": ordered[-1],
        "samples": samples,
    }


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def model_counts() -> dict[str, int]:
    from django.apps import apps
    from django.conf import settings

    tenant_apps = set(settings.TENANT_APPS)
    models = apps.get_models()
    return {
        "total": len(models),
        "tenant_schema": sum(1 for model in models if model._meta.app_config.name in tenant_apps),
        "synthetic": sum(1 for model in models if model._meta.app_label == "synthetic"),
    }


def _server_facts() -> dict[str, Any]:
    """What the DDL of one tenant costs on this server: the template's relations, and a calibration."""
    from django.conf import settings
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) + count(NULLIF(reltoastrelid, 0)) * 2 FROM pg_class "
            "WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %s)",
            [settings.TENANT_BASE_SCHEMA],
        )
        relations = cursor.fetchone()[0]
    tables = 100
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("CREATE SCHEMA portico_bench_calibration")
        for number in range(tables):
            cursor.execute(f"CREATE TABLE portico_bench_calibration.t{number} (id bigint)")
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"server_version": version, "relations_per_schema": relations, "ms_per_empty_table": elapsed / tables * 1000}


def _onboard(slug: str, *, by_migrations: bool = False) -> float:
    from django.test import override_settings

    from tenants.services import tenant_create

    def create() -> None:
        result = tenant_create(slug=slug, name=f"Bench {slug}", region="us-east-1", admin_email=f"admin@{slug}.test")
        if result.cloned == by_migrations:
            raise RuntimeError(f"{slug}: expected cloned={not by_migrations}, got {result.cloned}")

    if by_migrations:  # the fallback path: as if the template were missing
        with override_settings(TENANT_BASE_SCHEMA="portico_bench_no_template"):
            return _timed(create)
    return _timed(create)


def _bare_stamp(method: str, schema: str) -> float:
    """One stamping step alone, inside a transaction that is then rolled back (not timed)."""
    from django.conf import settings
    from django.db import transaction
    from django.test import override_settings
    from django_tenants.clone import CloneSchema

    from tenants.db import tenant_connection
    from tenants.services import _stamp_schema
    from tenants.stamp import stamp_schema

    template = settings.TENANT_BASE_SCHEMA
    actions: dict[str, Callable[[], object]] = {
        "in_use": lambda: _stamp_schema(schema),
        "tenants_stamp": lambda: stamp_schema(template=template, schema=schema),
        "clone_schema": lambda: CloneSchema().clone_schema(template, schema, "DATA"),
    }
    with transaction.atomic():
        if method == "migrations":
            with override_settings(TENANT_BASE_SCHEMA="portico_bench_no_template"):
                elapsed = _timed(lambda: _stamp_schema(schema))
        else:
            elapsed = _timed(actions[method])
        tenant_connection().set_schema_to_public()
        transaction.set_rollback(True)
    return elapsed


def _blueprint_read() -> float:
    """What the first onboarding in a process (e.g. each `portico tenants create`) pays extra."""
    from django.conf import settings

    from tenants import stamp

    stamp._blueprints.clear()
    return _timed(lambda: stamp.blueprint_for(settings.TENANT_BASE_SCHEMA))


def _stamping_in_use() -> str:
    """How _stamp_schema copies this template: tenants.stamp, or the clone function when the stamp refuses it."""
    from django.conf import settings

    from tenants.stamp import UnsupportedTemplate, blueprint_for

    try:
        blueprint_for(settings.TENANT_BASE_SCHEMA)
    except UnsupportedTemplate as exc:
        return f"django-tenants clone_schema(), because {exc}"
    return "tenants.stamp"


def _measure_onboarding(runs: int) -> dict[str, Any]:
    _progress("warming up both onboarding paths (not counted)")
    _onboard("bench-warm-clone")
    _onboard("bench-warm-migrations", by_migrations=True)
    clone, migrations = [], []
    for number in range(1, runs + 1):
        _progress(f"onboarding {number}/{runs}: by clone, then by migrations")
        clone.append(_onboard(f"bench-clone-{number:02d}"))
        migrations.append(_onboard(f"bench-migrations-{number:02d}", by_migrations=True))
    return {"clone": summary(clone), "migrations": summary(migrations)}


def _measure_stamps(runs: int, *, stamp_supported: bool) -> dict[str, Any]:
    methods = ["in_use", "tenants_stamp", "clone_schema", "migrations"] if stamp_supported else ["in_use", "migrations"]
    stamps: dict[str, list[float]] = {method: [] for method in methods}
    for number in range(1, runs + 1):
        _progress(f"stamping step alone {number}/{runs}: {', '.join(stamps)}")
        for method, samples in stamps.items():
            samples.append(_bare_stamp(method, f"bench_stamp_{number}"))
    result = {method: summary(samples) for method, samples in stamps.items()}
    if stamp_supported:
        result["blueprint"] = summary([_blueprint_read() for _ in range(runs)])
    return result


def _fill_with_firms(tenants: int) -> dict[str, Any] | None:
    """Onboard firms by clone until there are ``tenants``; returns their timings."""
    from tenants.models import Tenant

    bulk = []
    for number in range(Tenant.objects.filter(kind=Tenant.Kind.FIRM).count() + 1, tenants + 1):
        if number % 10 == 0:
            _progress(f"creating firms by clone for the migrate runs: {number}/{tenants}")
        bulk.append(_onboard(f"bench-firm-{number:03d}"))
    return summary(bulk) if bulk else None


def _measure_migrate(runs: int, migrate_schemas_runs: int) -> dict[str, Any]:
    from django.core.management import call_command

    from tenants.db import tenant_connection
    from tenants.migrate import migrate_all
    from tenants.schema_state import expected_migrations

    nothing, behind = [], []
    for number in range(1, runs + 1):
        _progress(f"portico tenants migrate, nothing to apply {number}/{runs}")
        expected_migrations.cache_clear()  # as in a fresh `portico tenants migrate` process
        started = time.perf_counter()
        behind.extend(migrate_all().migrated)
        nothing.append(time.perf_counter() - started)
    if behind:
        raise RuntimeError(
            f"portico tenants migrate had work to do in {len(set(behind))} schemas, so it did not measure "
            "'nothing to apply': did migrations change on disk during the run?"
        )
    schemas = []
    for number in range(1, migrate_schemas_runs + 1):
        _progress(f"django-tenants migrate_schemas, nothing to apply {number}/{migrate_schemas_runs}")
        schemas.append(_timed(lambda: call_command("migrate_schemas", interactive=False, verbosity=0)))
        tenant_connection().set_schema_to_public()
    return {"portico": summary(nothing), "migrate_schemas": summary(schemas)}


def run(*, runs: int, stamp_runs: int, tenants: int, migrate_runs: int, migrate_schemas_runs: int) -> dict[str, Any]:
    from tenants.migrate import migrate_all
    from tenants.models import Tenant

    result: dict[str, Any] = {"models": model_counts()}
    _progress("preparing the empty database (portico tenants migrate)")
    result["prepare_seconds"] = _timed(migrate_all)
    result["server"] = _server_facts()
    result["stamping"] = _stamping_in_use()
    result["onboarding"] = _measure_onboarding(runs)
    result["stamp"] = _measure_stamps(stamp_runs, stamp_supported=result["stamping"] == "tenants.stamp")
    result["bulk_onboarding"] = _fill_with_firms(tenants)
    result["tenants"] = Tenant.objects.filter(kind=Tenant.Kind.FIRM).count()
    result["migrate"] = _measure_migrate(migrate_runs, migrate_schemas_runs)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count-models", action="store_true", help="only print the model counts as JSON")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--stamp-runs", type=int, default=3)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--migrate-runs", type=int, default=3)
    parser.add_argument("--migrate-schemas-runs", type=int, default=1)
    parser.add_argument("--output", help="write the measurements here as JSON")
    args = parser.parse_args(argv)
    django.setup()
    if args.count_models:
        print(json.dumps(model_counts()))
        return
    result = run(
        runs=args.runs,
        stamp_runs=args.stamp_runs,
        tenants=args.tenants,
        migrate_runs=args.migrate_runs,
        migrate_schemas_runs=args.migrate_schemas_runs,
    )
    with open(args.output, "w") as output:
        json.dump(result, output, indent=2)


if __name__ == "__main__":
    main()
