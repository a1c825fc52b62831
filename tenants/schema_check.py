"""Every firm's schema holds every tenant table, and public holds none that only firms have.

A firm's connection searches its own schema, then ``public`` (django-tenants
puts public on the search path so the control plane's tables resolve). So a
tenant table missing from a firm's schema, with a same-named table in public,
would be read from public: another firm's rows, or the platform's. This check
makes that impossible to miss: ``schema_problems(schema)`` names every tenant
table the schema lacks and every tenant-only table found in public. It runs
before a firm's first request in each process (``core.middleware``, which
answers 503 instead of serving) and after ``portico tenants migrate``.
"""

from __future__ import annotations

import threading

from django.apps import apps
from django.conf import settings
from django.db import connection


def _tables_of(app_names: list[str]) -> set[str]:
    tables = set()
    for config in apps.get_app_configs():
        if config.name in app_names:
            for model in config.get_models(include_auto_created=True):
                if model._meta.managed and not model._meta.proxy:
                    tables.add(model._meta.db_table)
    return tables


def tenant_tables() -> set[str]:
    """The tables every firm's schema must have."""
    return _tables_of(list(settings.TENANT_APPS))


def tenant_only_tables() -> set[str]:
    """Tables of apps that live only in firms' schemas: public must not have them."""
    return _tables_of([app for app in settings.TENANT_APPS if app not in settings.SHARED_APPS])


def schema_problems(schema: str) -> list[str]:
    """What is wrong with ``schema`` (a firm's or the template) and with public; empty when all is well."""
    return schemas_problems([schema])


def schemas_problems(schemas: list[str]) -> list[str]:
    """``schema_problems`` of every schema of ``schemas``, from one read of the catalog.

    (pg_class has no index by schema alone: with many firms, a read per schema scans it each time.)
    """
    found: dict[str, set[str]] = {schema: set() for schema in [*schemas, "public"]}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm')",
            [list(found)],
        )
        for schema, table in cursor.fetchall():
            found[schema].add(table)
    expected = tenant_tables()
    problems = [
        f"schema {schema} has no table {table}: it would be read from public"
        for schema in schemas
        for table in sorted(expected - found[schema])
    ]
    problems += [
        f"public has the firms' table {table}: a firm missing it would read public's rows"
        for table in sorted(tenant_only_tables() & found["public"])
    ]
    return problems


_verified: set[str] = set()
_verified_lock = threading.Lock()


def schema_verified(schema: str) -> list[str]:
    """``schema_problems``, remembered per process once a schema passed (a broken one is checked again)."""
    if schema in _verified:
        return []
    problems = schema_problems(schema)
    if not problems:
        with _verified_lock:
            _verified.add(schema)
    return problems


def forget_verified() -> set[str]:
    """Check every schema again on its next request (tests; after repairing a schema by hand).

    Returns the schemas that had passed, for ``remember_verified``.
    """
    with _verified_lock:
        passed = set(_verified)
        _verified.clear()
    return passed


def remember_verified(schemas: set[str]) -> None:
    """Restore what ``forget_verified`` returned (schemas that passed and have not changed since)."""
    with _verified_lock:
        _verified.update(schemas)
