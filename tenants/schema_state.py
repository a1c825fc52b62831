"""Which schemas are behind on migrations, read straight from their history tables.

`portico tenants migrate` asks this first and runs the migration machinery only
for schemas that miss something, which is what makes "nothing to do" cheap even
with hundreds of firms.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from psycopg import sql


@cache
def expected_migrations() -> frozenset[tuple[str, str]]:
    """Every migration on disk, and every one a squashed migration replaces (core/migrations/oauth2_provider/).

    Django records each in every schema it migrates, including those whose app the router keeps out of
    that schema, and records a squash together with the migrations it replaces.
    """
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replaced = {key for squash in loader.replacements.values() for key in squash.replaces}
    return frozenset(loader.graph.nodes) | replaced


def applied_migrations(schemas: list[str]) -> dict[str, set[tuple[str, str]]]:
    """Applied migrations per schema, in one round trip. A schema without a history table has none."""
    result: dict[str, set[tuple[str, str]]] = {schema: set() for schema in schemas}
    if not schemas:
        return result
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [schemas],
        )
        with_history = [row[0] for row in cursor.fetchall()]
        if not with_history:
            return result
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {name}, app, name FROM {table}").format(
                name=sql.Literal(schema), table=sql.Identifier(schema, "django_migrations")
            )
            for schema in with_history
        )
        cursor.execute(query.as_string(connection.connection))
        for schema, app, name in cursor.fetchall():
            result[schema].add((app, name))
    return result


def pending_migrations(schemas: list[str]) -> dict[str, set[tuple[str, str]]]:
    """The schemas that miss at least one migration, with what they miss."""
    expected = expected_migrations()
    return {
        schema: missing
        for schema, applied in applied_migrations(schemas).items()
        if (missing := set(expected - applied))
    }
