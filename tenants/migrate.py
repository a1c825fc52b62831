"""Bring public, the template and every firm up to date, skipping schemas already current."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django_tenants.utils import schema_exists

from tenants.db import tenant_connection
from tenants.models import Tenant
from tenants.schema_check import schema_problems
from tenants.schema_state import pending_migrations

Progress = Callable[[int, int, str, str], None]


@dataclass
class MigrateReport:
    migrated: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    # Tenant tables missing from a schema, or tenant-only tables in public (tenants.schema_check).
    problems: list[str] = field(default_factory=list)


def _quiet(index: int, total: int, schema: str, outcome: str) -> None:
    pass


def migrate_all(*, progress: Progress = _quiet) -> MigrateReport:
    from tenants.services import public_ensure, template_ensure

    report = MigrateReport()
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
    for index, schema in enumerate(schemas, start=1):
        if schema in behind:
            call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
            tenant_connection().set_schema_to_public()
            report.migrated.append(schema)
            progress(index, len(schemas), schema, f"migrated ({len(behind[schema])} migrations)")
        elif template_missing and schema == settings.TENANT_BASE_SCHEMA:
            report.migrated.append(schema)
            if first_run:
                progress(index, len(schemas), schema, "created (the template new firms are copied from)")
            else:
                progress(index, len(schemas), schema, "was missing: recreated by running migrations")
        else:
            report.up_to_date.append(schema)
            progress(index, len(schemas), schema, "up to date")
    found = [problem for schema in schemas for problem in schema_problems(schema)]
    report.problems = list(dict.fromkeys(found))
    return report
