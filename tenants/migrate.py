"""Bring public, the template and every firm up to date, skipping schemas already current.

Public first, then the template (through Django's migration executor, as
always), then the firms. Firms that miss the same migrations (all of them, as a
rule: every firm is stamped from the template) get them in parallel from SQL
Django writes once for the group (``MigrationExecutor.collect_sql``, the SQL
``sqlmigrate`` shows), each firm in a transaction of its own that also records
the migrations: a firm that fails is rolled back whole and reported, the others
are applied, and the next run picks the failed one up again. Django's executor
cannot write every migration as SQL (``RunPython``, a non-atomic migration):
firms that miss one of those are migrated one by one through ``migrate_schemas``,
as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from tenants.db import tenant_connection
from tenants.models import Tenant
from tenants.schema_check import schemas_problems
from tenants.schema_state import pending_migrations

Progress = Callable[[int, int, str, str], None]


@dataclass
class MigrateReport:
    migrated: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    # Tenant tables missing from a schema, or tenant-only tables in public (tenants.schema_check).
    problems: list[str] = field(default_factory=list)
    # Firms whose migration failed (rolled back, nothing of it applied): schema -> the error.
    failed: dict[str, str] = field(default_factory=dict)


def _quiet(index: int, total: int, schema: str, outcome: str) -> None:
    pass


def control_migrate(progress: Progress = _quiet) -> bool:
    """The control plane's own database (when it has one): its directory tables, nothing else."""
    from django.core.management.commands.migrate import Command as DjangoMigrate

    from tenants.control import CONTROL_ALIAS, control_is_separate

    if not control_is_separate():
        return False
    # Django's own migrate (django-tenants' replaces it with one that sets schemas): the control
    # database is plain PostgreSQL, and its router lets only the directory models in.
    # Only the tenants app has models there: its migrations alone, not every app's (seconds less).
    call_command(DjangoMigrate(), "tenants", database=CONTROL_ALIAS, interactive=False, verbosity=0)
    progress(0, 0, "control plane", "migrated")
    return True


def migrate_all(*, progress: Progress = _quiet) -> MigrateReport:
    from tenants.services import public_ensure, template_ensure

    report = MigrateReport()
    control_migrate(progress)
    if pending_migrations(["public"]):
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        report.migrated.append("public")
        progress(0, 0, "public", "migrated")
    else:
        report.up_to_date.append("public")
        progress(0, 0, "public", "up to date")
    tenant_connection().set_schema_to_public()
    public_ensure()
    template_missing = not schema_exists(settings.TENANT_BASE_SCHEMA)
    # On a fresh database the template has never existed: building it is the normal first run,
    # not a repair of a template someone dropped.
    first_run = not Tenant.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).exists()
    template_ensure()  # creates and migrates the template when it is missing

    schemas = list(
        Tenant.objects.exclude(schema_name="public").order_by("schema_name").values_list("schema_name", flat=True)
    )
    behind = pending_migrations(schemas)
    total, done = len(schemas), 0
    if settings.TENANT_BASE_SCHEMA in behind:  # the template first: new firms are copied from it
        call_command("migrate_schemas", schema_name=settings.TENANT_BASE_SCHEMA, interactive=False, verbosity=0)
        tenant_connection().set_schema_to_public()
        report.migrated.append(settings.TENANT_BASE_SCHEMA)
        done += 1
        progress(
            done,
            total,
            settings.TENANT_BASE_SCHEMA,
            f"migrated ({len(behind[settings.TENANT_BASE_SCHEMA])} migrations)",
        )
    for schema in schemas:
        if schema in behind:
            continue
        done += 1
        if template_missing and schema == settings.TENANT_BASE_SCHEMA:
            report.migrated.append(schema)
            if first_run:
                progress(done, total, schema, "created (the template new firms are copied from)")
            else:
                progress(done, total, schema, "was missing: recreated by running migrations")
        else:
            report.up_to_date.append(schema)
            progress(done, total, schema, "up to date")
    firms = {schema: missing for schema, missing in behind.items() if schema != settings.TENANT_BASE_SCHEMA}
    _migrate_firms(firms, report=report, progress=progress, start=done, total=total)
    report.problems = list(dict.fromkeys(schemas_problems(schemas)))
    return report


def migration_jobs() -> int:
    """How many firms are migrated at once (``PORTICO_MIGRATE_JOBS``; default: twice the cores, at most 8)."""
    configured = os.environ.get("PORTICO_MIGRATE_JOBS", "")
    return max(1, int(configured)) if configured.isdigit() else min(8, 2 * (os.cpu_count() or 1))


def _migrate_firms(
    behind: dict[str, set[tuple[str, str]]], *, report: MigrateReport, progress: Progress, start: int, total: int
) -> None:
    groups: dict[frozenset[tuple[str, str]], list[str]] = {}
    for schema, pending in sorted(behind.items()):
        groups.setdefault(frozenset(pending), []).append(schema)
    done = start
    for missing, members in groups.items():
        plan = _group_plan(members[0])
        for schema, error in _apply_each(members, plan, missing):
            done += 1
            if error is None:
                report.migrated.append(schema)
                progress(done, total, schema, f"migrated ({len(missing)} migrations)")
            else:
                report.failed[schema] = error
                progress(done, total, schema, f"FAILED, rolled back: {error}")


@dataclass(frozen=True)
class _Plan:
    sql: str | None  # None: Django's executor must run it (not all of it can be written as SQL)
    records: list[tuple[str, str]]


def _group_plan(schema: str) -> _Plan:
    """What a firm like ``schema`` misses, as SQL written once by Django, and the history rows it adds."""
    with schema_context(schema):
        connection = connections["default"]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        migrations: list[Migration] = [migration for migration, backwards in plan if not backwards]
        records = [key for migration in migrations for key in _recorded(migration)]
        if any(
            not migration.atomic or any(not op.reduces_to_sql for op in migration.operations)
            for migration in migrations
        ):
            return _Plan(sql=None, records=records)
        # As the executor's own migrate does: from the project state of what this firm has applied, each
        # pending migration in plan order, but with the schema editor collecting its SQL instead of running it.
        state = executor._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]
        statements: list[str] = []
        for migration in migrations:
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                state = migration.apply(state, editor, collect_sql=True)
            statements.extend(editor.collected_sql)
    return _Plan(sql="\n".join(statements), records=records)


def _writable_as_sql(migration: Migration) -> bool:
    """Whether Django can write all of ``migration`` as SQL to replay (no RunPython, one transaction)."""
    return bool(migration.atomic) and all(operation.reduces_to_sql for operation in migration.operations)


def _recorded(migration: Migration) -> list[tuple[str, str]]:
    """The history rows applying ``migration`` leaves: a squash records itself and what it replaces."""
    return [(migration.app_label, migration.name), *((app, name) for app, name in migration.replaces)]


def _apply_each(members: list[str], plan: _Plan, missing: frozenset[tuple[str, str]]) -> Any:
    """Apply ``plan`` to each firm of ``members``, yielding (schema, error or None) as each finishes."""
    if plan.sql is None:
        for schema in members:
            try:
                call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
            except Exception as exc:  # one firm's failure is reported, the others go on
                yield schema, f"{type(exc).__name__}: {exc}"
            else:
                yield schema, None
            finally:
                tenant_connection().set_schema_to_public()
        return
    if connections["default"].in_atomic_block:
        # Called inside the caller's transaction (a restore, a test): other connections would not see what it
        # holds, so each firm gets a savepoint on this connection instead, one after the other.
        for schema in members:
            yield schema, _apply_sql(schema, plan, missing, own_connection=False)
        return
    with ThreadPoolExecutor(max_workers=migration_jobs(), thread_name_prefix="migrate") as pool:
        futures = {pool.submit(_apply_sql, schema, plan, missing): schema for schema in members}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _apply_sql(
    schema: str, plan: _Plan, missing: frozenset[tuple[str, str]], *, own_connection: bool = True
) -> str | None:
    """One firm, one transaction: the SQL, then its history rows; None, or what went wrong (rolled back).

    ``own_connection``: run in a thread of the pool, on that thread's connection (closed at the end).
    """
    assert plan.sql is not None
    try:
        with schema_context(schema), transaction.atomic():
            connection = connections["default"]
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '10s'")  # a firm kept busy fails and is retried later
                applied = {tuple(row) for row in _history(cursor)}
                if applied & missing:
                    raise DatabaseError("its history changed since the plan was made; run the command again")
                cursor.execute(plan.sql)
                now = timezone.now()
                cursor.executemany(
                    "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                    [(app, name, now) for app, name in plan.records if (app, name) not in applied],
                )
        return None
    except DatabaseError as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        if own_connection:
            connections["default"].close()  # this thread's connection


def _history(cursor: Any) -> list[tuple[str, str]]:
    cursor.execute("SELECT app, name FROM django_migrations")
    return list(cursor.fetchall())
