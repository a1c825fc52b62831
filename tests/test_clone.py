"""Onboarding by clone: a cloned firm is the same as one built by migrations, and owes the template nothing.

One firm is stamped out of the template, another is built by running every
migration because the template schema is gone; both are read from the catalog
and compared with their own schema name normalised. The module fixture does
its work in one transaction that it rolls back, so it leaves nothing behind.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from core.models import User
from core.roles import Role
from tenants.cli import main
from tenants.db import tenant_connection
from tenants.models import Tenant
from tenants.schema_state import expected_migrations, pending_migrations

CLONED = "cloned-firm"
MIGRATED = "migrated-firm"


def _rows(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [tuple(row) for row in cursor.fetchall()]


def _normalised(schema: str, text: str | None) -> str | None:
    """The schema's own name becomes <schema>; any other schema name (the template's) stays visible."""
    if text is None:
        return None
    return re.sub(rf'"?\b{re.escape(schema)}\b"?\.', "<schema>.", text)


@dataclass(frozen=True)
class Catalog:
    """What PostgreSQL knows about one schema, comparable across schemas."""

    relations: set[tuple[str, str]]
    columns: set[tuple[Any, ...]]
    column_order: dict[str, list[str]]
    identity_columns: set[tuple[str, str, str]]
    indexes: set[tuple[str, str, str | None]]
    constraints: set[tuple[Any, ...]]
    sequences: set[tuple[Any, ...]]
    sequence_owners: set[tuple[Any, ...]]
    functions_and_triggers: set[tuple[str, str]]
    migrations: Counter[tuple[str, str]]


def read_catalog(schema: str) -> Catalog:
    relations = _rows(
        "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s",
        [schema],
    )
    columns = _rows(
        "SELECT table_name, column_name, data_type, udt_schema, udt_name, character_maximum_length, "
        "numeric_precision, numeric_scale, is_nullable, column_default, is_identity, identity_generation, "
        "identity_start, identity_increment, is_generated, generation_expression, collation_name, ordinal_position "
        "FROM information_schema.columns WHERE table_schema = %s",
        [schema],
    )
    column_order: dict[str, list[str]] = {}
    for row in sorted(columns, key=lambda r: (r[0], r[-1])):
        column_order.setdefault(row[0], []).append(row[1])
    indexes = _rows("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s", [schema])
    constraints = _rows(
        "SELECT t.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid), con.convalidated "
        "FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = con.connamespace WHERE n.nspname = %s",
        [schema],
    )
    sequences = _rows(
        "SELECT sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option "
        "FROM information_schema.sequences WHERE sequence_schema = %s",
        [schema],
    )
    sequence_owners = _rows(
        "SELECT s.relname, tn.nspname, t.relname, a.attname, d.deptype::text "
        "FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace "
        "JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid "
        "  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
        "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
        "WHERE s.relkind = 'S' AND n.nspname = %s",
        [schema],
    )
    functions_and_triggers = _rows(
        "SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s "
        "UNION ALL SELECT 'trigger', c.relname || '.' || tg.tgname FROM pg_trigger tg "
        "JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND NOT tg.tgisinternal",
        [schema, schema],
    )
    migrations = _rows(f'SELECT app, name FROM "{schema}".django_migrations', [])  # noqa: S608 - a schema we made
    return Catalog(
        relations=set(relations),
        columns={(*row[:9], _normalised(schema, row[9]), *row[10:-1]) for row in columns},
        column_order=column_order,
        identity_columns={(row[0], row[1], row[11]) for row in columns if row[10] == "YES"},
        indexes={(table, name, _normalised(schema, definition)) for table, name, definition in indexes},
        constraints={
            (table, name, kind, _normalised(schema, definition), valid)
            for table, name, kind, definition, valid in constraints
        },
        sequences=set(sequences),
        sequence_owners={(seq, "<schema>" if ns == schema else ns, *rest) for seq, ns, *rest in sequence_owners},
        functions_and_triggers=set(functions_and_triggers),
        migrations=Counter(migrations),
    )


def references_to(*, schema: str, other: str) -> list[tuple[Any, ...]]:
    """Objects of ``schema`` that depend on ``other``'s tables, sequences, types or namespace, or name it in DDL."""
    dependencies = _rows(
        """
        WITH ns AS (SELECT (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s) AS own,
                           (SELECT oid FROM pg_namespace WHERE nspname = %(other)s) AS other),
        dependents(classid, objid) AS (
            SELECT 'pg_class'::regclass, c.oid FROM pg_class c, ns WHERE c.relnamespace = ns.own
            UNION ALL SELECT 'pg_attrdef'::regclass, ad.oid FROM pg_attrdef ad
                JOIN pg_class c ON c.oid = ad.adrelid, ns WHERE c.relnamespace = ns.own
            UNION ALL SELECT 'pg_constraint'::regclass, con.oid FROM pg_constraint con, ns
                WHERE con.connamespace = ns.own
            UNION ALL SELECT 'pg_rewrite'::regclass, r.oid FROM pg_rewrite r
                JOIN pg_class c ON c.oid = r.ev_class, ns WHERE c.relnamespace = ns.own
            UNION ALL SELECT 'pg_trigger'::regclass, tg.oid FROM pg_trigger tg
                JOIN pg_class c ON c.oid = tg.tgrelid, ns WHERE c.relnamespace = ns.own
            UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p, ns WHERE p.pronamespace = ns.own
        )
        SELECT d.classid::regclass::text, d.objid, d.refclassid::regclass::text, d.refobjid, d.deptype::text
        FROM pg_depend d JOIN dependents x ON x.classid = d.classid AND x.objid = d.objid, ns
        WHERE (d.refclassid = 'pg_namespace'::regclass AND d.refobjid = ns.other)
           OR (d.refclassid = 'pg_class'::regclass
               AND d.refobjid IN (SELECT oid FROM pg_class WHERE relnamespace = ns.other))
           OR (d.refclassid = 'pg_type'::regclass
               AND d.refobjid IN (SELECT oid FROM pg_type WHERE typnamespace = ns.other))
        """,
        {"schema": schema, "other": other},  # type: ignore[arg-type]
    )
    foreign_keys = _rows(
        "SELECT con.conname, rn.nspname FROM pg_constraint con "
        "JOIN pg_namespace n ON n.oid = con.connamespace JOIN pg_class ref ON ref.oid = con.confrelid "
        "JOIN pg_namespace rn ON rn.oid = ref.relnamespace WHERE con.contype = 'f' AND n.nspname = %s "
        "AND rn.nspname <> n.nspname",
        [schema],
    )
    pattern = rf"\m{other}\M"
    ddl_text = _rows(
        "SELECT 'default', table_name || '.' || column_name FROM information_schema.columns "
        "WHERE table_schema = %(schema)s AND column_default ~ %(pattern)s "
        "UNION ALL SELECT 'index', indexname FROM pg_indexes WHERE schemaname = %(schema)s AND indexdef ~ %(pattern)s "
        "UNION ALL SELECT 'constraint', con.conname FROM pg_constraint con "
        "JOIN pg_namespace n ON n.oid = con.connamespace "
        "WHERE n.nspname = %(schema)s AND pg_get_constraintdef(con.oid) ~ %(pattern)s "
        "UNION ALL SELECT 'view', viewname FROM pg_views WHERE schemaname = %(schema)s AND definition ~ %(pattern)s "
        "UNION ALL SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %(schema)s AND p.prosrc ~ %(pattern)s",
        {"schema": schema, "pattern": pattern},  # type: ignore[arg-type]
    )
    return [*dependencies, *foreign_keys, *ddl_text]


def identity_positions(schema: str) -> dict[tuple[str, str], tuple[int | None, int]]:
    """Per identity column: the largest value in the table and the value its sequence hands out next."""
    positions = {}
    for table, column in _rows(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND is_identity = 'YES'",
        [schema],
    ):
        (sequence,) = _rows("SELECT pg_get_serial_sequence(%s, %s)", [f'"{schema}"."{table}"', column])[0]
        ((largest,),) = _rows(f'SELECT max("{column}") FROM "{schema}"."{table}"', [])  # noqa: S608
        ((last_value, is_called),) = _rows(f"SELECT last_value, is_called FROM {sequence}", [])  # noqa: S608
        positions[(table, column)] = (largest, last_value + 1 if is_called else last_value)
    return positions


@dataclass(frozen=True)
class Onboarding:
    cloned: Catalog
    migrated: Catalog
    template: Catalog
    cloned_refs_to_template: list[tuple[Any, ...]]
    cloned_identity_positions: dict[tuple[str, str], tuple[int | None, int]]
    migrated_cli_output: str
    migrated_cli_exit_code: int
    migrated_admin_roles: list[str]
    migrated_role_groups: set[str]
    migrated_pending: dict[str, set[tuple[str, str]]]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def onboarded(django_db_setup: Any, django_db_blocker: Any) -> Onboarding:
    """A firm cloned from the template and one built by migrations (template dropped first), then rolled back."""
    template = settings.TENANT_BASE_SCHEMA
    with django_db_blocker.unblock(), transaction.atomic():
        created = _cli(
            "tenants", "create", "--slug", CLONED, "--name", "Cloned LLP", "--region", "us-east-1",
            "--admin-email", "ana@cloned.test",
        )  # fmt: skip
        assert created.exit_code == 0, created.output
        assert "cloned from the template" in created.stdout
        cloned = "cloned_firm"
        template_catalog = read_catalog(template)
        cloned_catalog = read_catalog(cloned)
        cloned_refs = references_to(schema=cloned, other=template)
        cloned_positions = identity_positions(cloned)

        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{template}" CASCADE')
        assert not schema_exists(template)
        fallback = _cli(
            "tenants", "create", "--slug", MIGRATED, "--name", "Migrated LLP", "--region", "us-east-1",
            "--admin-email", "bo@migrated.test",
        )  # fmt: skip
        migrated = "migrated_firm"
        migrated_catalog = read_catalog(migrated)
        with schema_context(migrated):
            admin_roles = list(User.objects.get(email="bo@migrated.test").groups.values_list("name", flat=True))
            role_groups = set(Group.objects.values_list("name", flat=True))
        snapshot = Onboarding(
            cloned=cloned_catalog,
            migrated=migrated_catalog,
            template=template_catalog,
            cloned_refs_to_template=cloned_refs,
            cloned_identity_positions=cloned_positions,
            migrated_cli_output=fallback.output,
            migrated_cli_exit_code=fallback.exit_code,
            migrated_admin_roles=admin_roles,
            migrated_role_groups=role_groups,
            migrated_pending=pending_migrations([migrated]),
        )
        transaction.set_rollback(True)
    tenant_connection().set_schema_to_public()
    return snapshot


def test_fallback_builds_the_firm_by_migrations_when_the_template_is_missing(onboarded: Onboarding) -> None:
    assert onboarded.migrated_cli_exit_code == 0, onboarded.migrated_cli_output
    assert "built by running migrations (no template)" in onboarded.migrated_cli_output
    assert onboarded.migrated_pending == {}
    assert onboarded.migrated_admin_roles == [Role.FIRM_ADMIN.value]
    assert onboarded.migrated_role_groups == {role.value for role in Role}


def test_clone_has_the_same_tables_indexes_and_sequences_as_a_migrated_firm(onboarded: Onboarding) -> None:
    assert onboarded.cloned.relations == onboarded.migrated.relations
    assert {kind for _name, kind in onboarded.cloned.relations} >= {"r", "i", "S"}


def test_clone_has_the_same_columns_in_the_same_order_as_a_migrated_firm(onboarded: Onboarding) -> None:
    assert onboarded.cloned.columns == onboarded.migrated.columns
    assert onboarded.cloned.column_order == onboarded.migrated.column_order


def test_clone_keeps_identity_columns_as_identity_columns(onboarded: Onboarding) -> None:
    assert onboarded.cloned.identity_columns == onboarded.migrated.identity_columns
    assert ("core_user", "id", "BY DEFAULT") in onboarded.cloned.identity_columns


def test_clone_has_the_same_index_definitions_as_a_migrated_firm(onboarded: Onboarding) -> None:
    assert onboarded.cloned.indexes == onboarded.migrated.indexes
    assert any("UNIQUE" in definition for _t, _n, definition in onboarded.cloned.indexes if definition)


def test_clone_has_the_same_constraints_as_a_migrated_firm(onboarded: Onboarding) -> None:
    assert onboarded.cloned.constraints == onboarded.migrated.constraints
    kinds = {kind for _t, _n, kind, _d, _v in onboarded.cloned.constraints}
    assert {"p", "f", "u"} <= kinds


def test_clone_has_the_same_sequences_owned_by_the_same_columns(onboarded: Onboarding) -> None:
    assert onboarded.cloned.sequences == onboarded.migrated.sequences
    assert onboarded.cloned.sequence_owners == onboarded.migrated.sequence_owners
    assert all(owner_schema == "<schema>" for _s, owner_schema, *_ in onboarded.cloned.sequence_owners)


def test_functions_and_triggers_match(onboarded: Onboarding) -> None:
    assert onboarded.cloned.functions_and_triggers == onboarded.migrated.functions_and_triggers


def test_clone_has_exactly_the_templates_migration_rows(onboarded: Onboarding) -> None:
    assert onboarded.cloned.migrations == onboarded.template.migrations
    assert max(onboarded.cloned.migrations.values()) == 1
    assert set(onboarded.cloned.migrations) == set(onboarded.migrated.migrations) == expected_migrations()


def test_clone_identity_sequences_continue_after_the_copied_rows(onboarded: Onboarding) -> None:
    """Otherwise the next content type, permission or migration row inserted in the clone collides."""
    positions = onboarded.cloned_identity_positions
    assert (positions[("django_migrations", "id")][0] or 0) >= len(onboarded.template.migrations) > 0
    behind = {column: pos for column, pos in positions.items() if pos[0] is not None and pos[1] <= pos[0]}
    assert behind == {}


def test_nothing_in_the_clone_points_back_at_the_template(onboarded: Onboarding) -> None:
    assert onboarded.cloned_refs_to_template == []


def test_the_reference_check_sees_a_default_pointing_at_another_schema(firm_a: Any) -> None:
    """The check above would catch a clone whose column default still used the template's sequence."""
    template = settings.TENANT_BASE_SCHEMA
    assert references_to(schema="acme", other=template) == []
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SEQUENCE "{template}".stray_seq')
        cursor.execute(f"ALTER TABLE acme.django_session ADD COLUMN n bigint DEFAULT nextval('{template}.stray_seq')")
    found = references_to(schema="acme", other=template)
    assert ("default", "django_session.n") in found
    assert any(row[2] == "pg_class" for row in found)


def test_template_is_a_tenant_without_a_domain_that_holds_no_firm_data(firm_a: Any) -> None:
    template = Tenant.objects.get(schema_name=settings.TENANT_BASE_SCHEMA)
    assert template.kind == Tenant.Kind.TEMPLATE
    assert not template.domains.exists()
    with schema_context(template.schema_name):
        assert not User.objects.exists()
        assert set(Group.objects.values_list("name", flat=True)) == {role.value for role in Role}


def _spy_call_command(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    import tenants.migrate
    import tenants.services

    calls: list[tuple[Any, ...]] = []
    for module in (tenants.migrate, tenants.services):
        real = module.call_command

        def spy(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            calls.append((args, kwargs))
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, "call_command", spy)
    return calls


def _forget_migration(schema: str, app: str, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])  # noqa: S608


def test_migrate_after_a_migrate_touches_no_schema(firm_a: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # tenants is a public-only app: its migration is recorded in every schema but runs nothing there.
    from tests.test_cli import public_only_leaf_migration

    _forget_migration("acme", *public_only_leaf_migration())
    calls = _spy_call_command(monkeypatch)

    first = _cli("tenants", "migrate", "--json")
    assert first.exit_code == 0, first.output
    assert calls == []  # a firm behind gets the SQL Django wrote for its group (tenants.migrate), no executor run
    assert json.loads(first.stdout)["migrated"] == ["acme"]

    calls.clear()
    second = _cli("tenants", "migrate")
    assert second.exit_code == 0, second.output
    assert calls == []
    schemas = ["public", *Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)]
    for schema in schemas:
        assert f"{schema}: up to date" in second.stderr
    assert f"0 schema(s) migrated, {len(schemas)} already up to date" in second.stdout


def test_migrate_recreates_a_dropped_template(firm_a: Any) -> None:
    template = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{template}" CASCADE')

    result = _cli("tenants", "migrate")

    assert result.exit_code == 0, result.output
    assert f"{template}: was missing: recreated by running migrations" in result.stderr
    assert schema_exists(template)
    assert pending_migrations([template]) == {}
    with schema_context(template):
        assert set(Group.objects.values_list("name", flat=True)) == {role.value for role in Role}
    # and the next firm is cloned from it again
    created = _cli(
        "tenants", "create", "--slug", "after-rebuild", "--name", "After LLP", "--region", "us-east-1",
        "--admin-email", "cy@after.test", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["cloned_from_template"] is True
