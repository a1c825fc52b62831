"""tenants.stamp: a stamped schema is object for object the one migrations build, and owes the template nothing.

Besides the real template, a probe template is made by stamping the real one and
adding what RunSQL in a later migration could add (a SQL function, a trigger, a
serial column, a standalone sequence, comments, a dropped column, deferrable and
NOT VALID constraints, a partial index, a generated column); a stamp of the probe
must reproduce it too. All of it happens in transactions that are rolled back.
"""

# The schema names in these queries are the test's own constants or read from the catalog.
# ruff: noqa: S608

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from tenants.db import tenant_connection
from tenants.services import _stamp_schema
from tenants.stamp import UnsupportedTemplate, blueprint_for, stamp_schema

PROBE = "stamp_probe_template"


def _rows(query: str, *params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [tuple(row) for row in cursor.fetchall()]


def _execute(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


_IN = "(SELECT oid FROM pg_namespace WHERE nspname = %s)"


def snapshot(schema: str) -> dict[str, Any]:
    """Everything the catalog says about one schema, with its own name written <schema>."""

    def own(text: str | None) -> str | None:
        return None if text is None else re.sub(rf'"?\b{re.escape(schema)}\b"?\.', "<schema>.", text)

    tables = [
        name for (name,) in _rows(f"SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = {_IN}", schema)
    ]
    return {
        "relations": sorted(
            _rows(f"SELECT relname, relkind::text, relacl::text FROM pg_class WHERE relnamespace = {_IN}", schema)
        ),
        "columns": sorted(
            (table, position, name, type_, not_null, own(default), identity, generated, collation)
            for table, position, name, type_, not_null, default, identity, generated, collation in _rows(
                "SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                "pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, a.attcollation "
                "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                f"WHERE c.relnamespace = {_IN} AND a.attnum > 0 AND NOT a.attisdropped",
                schema,
            )
        ),
        "sequences": sorted(
            (name, type_, params, own(owner))
            for name, type_, params, owner in _rows(
                "SELECT s.relname, format_type(q.seqtypid, NULL), "
                "ARRAY[q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache]::text || q.seqcycle::text, "
                "(SELECT string_agg(d.refobjid::regclass::text || '.' || d.refobjsubid || ':' || d.deptype::text, ',') "
                "   FROM pg_depend d WHERE d.objid = s.oid AND d.classid = 'pg_class'::regclass "
                "    AND d.refclassid = 'pg_class'::regclass) "
                f"FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid WHERE s.relnamespace = {_IN}",
                schema,
            )
        ),
        "indexes": sorted(
            (name, own(definition))
            for name, definition in _rows(
                f"SELECT relname, pg_get_indexdef(oid) FROM pg_class WHERE relkind = 'i' AND relnamespace = {_IN}",
                schema,
            )
        ),
        "constraints": sorted(
            (own(table), name, kind, own(definition), deferrable, deferred, valid)
            for table, name, kind, definition, deferrable, deferred, valid in _rows(
                "SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid), condeferrable, "
                f"condeferred, convalidated FROM pg_constraint WHERE connamespace = {_IN}",
                schema,
            )
        ),
        "functions": sorted(
            own(d) for (d,) in _rows(f"SELECT pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = {_IN}", schema)
        ),
        "triggers": sorted(
            own(d)
            for (d,) in _rows(
                "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                f"WHERE c.relnamespace = {_IN} AND NOT t.tgisinternal",
                schema,
            )
        ),
        "comments": sorted(
            _rows(
                "SELECT c.relname, d.objsubid, d.description FROM pg_description d JOIN pg_class c ON c.oid = d.objoid "
                f"WHERE d.classoid = 'pg_class'::regclass AND c.relnamespace = {_IN}",
                schema,
            )
        ),
        "migrations": sorted(_rows(f'SELECT app, name FROM "{schema}".django_migrations')),
        "row_counts": {t: _rows(f'SELECT count(*) FROM "{schema}"."{t}"')[0][0] for t in tables},
        "sequence_positions": {
            name: _rows(f'SELECT last_value, is_called FROM "{schema}"."{name}"')[0]
            + _rows(f'SELECT max("{column}") FROM "{schema}"."{table}"' if table else "SELECT NULL")[0]
            for name, table, column in _rows(
                "SELECT s.relname, t.relname, a.attname FROM pg_class s "
                "LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
                "  AND d.deptype IN ('a', 'i') "
                "LEFT JOIN pg_class t ON t.oid = d.refobjid "
                "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                f"WHERE s.relkind = 'S' AND s.relnamespace = {_IN}",
                schema,
            )
        },
    }


def _next_value(last_value: int, is_called: bool) -> int:
    return last_value + 1 if is_called else last_value


def references(*, schema: str, to: str) -> list[tuple[Any, ...]]:
    """Catalog dependencies of ``schema``'s objects on ``to``'s, and definitions that name ``to``."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH ns AS (SELECT (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s) AS own,
                               (SELECT oid FROM pg_namespace WHERE nspname = %(to)s) AS other)
            SELECT d.classid::regclass::text, d.objid, d.refclassid::regclass::text, d.refobjid FROM pg_depend d, ns
             WHERE (d.refclassid = 'pg_class'::regclass
                    AND d.refobjid IN (SELECT oid FROM pg_class WHERE relnamespace = ns.other)
                 OR d.refclassid = 'pg_proc'::regclass
                    AND d.refobjid IN (SELECT oid FROM pg_proc WHERE pronamespace = ns.other)
                 OR d.refclassid = 'pg_namespace'::regclass AND d.refobjid = ns.other)
               AND (d.classid = 'pg_class'::regclass
                    AND d.objid IN (SELECT oid FROM pg_class WHERE relnamespace = ns.own)
                 OR d.classid = 'pg_constraint'::regclass
                    AND d.objid IN (SELECT oid FROM pg_constraint WHERE connamespace = ns.own)
                 OR d.classid = 'pg_proc'::regclass
                    AND d.objid IN (SELECT oid FROM pg_proc WHERE pronamespace = ns.own)
                 OR d.classid = 'pg_trigger'::regclass AND d.objid IN
                    (SELECT t.oid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = ns.own)
                 OR d.classid = 'pg_attrdef'::regclass AND d.objid IN
                    (SELECT a.oid FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid WHERE c.relnamespace = ns.own))
            """,
            {"schema": schema, "to": to},
        )
        depends = [tuple(row) for row in cursor.fetchall()]
    catalog = snapshot(schema)
    named = [
        (part, item)
        for part in ("columns", "sequences", "indexes", "constraints", "functions", "triggers")
        for item in catalog[part]
        if re.search(rf"\b{re.escape(to)}\b", repr(item))
    ]
    return [*depends, *named]


@dataclass(frozen=True)
class Stamped:
    template: dict[str, Any]
    stamped: dict[str, Any]
    migrated: dict[str, Any]
    references: list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def stamped(django_db_setup: Any, django_db_blocker: Any) -> Stamped:
    """The template stamped once and migrated once, read from the catalog, then rolled back."""
    template = settings.TENANT_BASE_SCHEMA
    with django_db_blocker.unblock(), transaction.atomic():
        stamp_schema(template=template, schema="stamp_probe")
        _execute('CREATE SCHEMA "migrate_probe"')
        call_command("migrate_schemas", schema_name="migrate_probe", interactive=False, verbosity=0)
        tenant_connection().set_schema_to_public()
        result = Stamped(
            template=snapshot(template),
            stamped=snapshot("stamp_probe"),
            migrated=snapshot("migrate_probe"),
            references=references(schema="stamp_probe", to=template),
        )
        transaction.set_rollback(True)
    return result


@pytest.mark.parametrize(
    "part", ["relations", "columns", "sequences", "indexes", "constraints", "functions", "triggers", "migrations"]
)
def test_stamp_is_the_schema_migrations_build(stamped: Stamped, part: str) -> None:
    assert stamped.stamped[part] == stamped.migrated[part]
    assert stamped.stamped[part] == stamped.template[part]


def test_stamp_keeps_identity_columns_deferrable_foreign_keys_and_ordinal_positions(stamped: Stamped) -> None:
    columns = {
        (table, name): (position, identity)
        for table, position, name, *_, identity, _g, _c in stamped.stamped["columns"]
    }
    assert columns[("core_user", "id")][1] == "d"
    # contenttypes 0002 dropped a column: the ones after it keep their positions
    assert columns[("django_content_type", "model")][0] == 4
    foreign_keys = [row for row in stamped.stamped["constraints"] if row[2] == "f"]
    assert foreign_keys
    assert all(deferrable and deferred for *_, deferrable, deferred, _valid in foreign_keys)


def test_stamp_copies_the_templates_rows_and_sequence_positions(stamped: Stamped) -> None:
    assert stamped.stamped["row_counts"] == stamped.template["row_counts"]
    assert stamped.stamped["row_counts"]["django_migrations"] > 0
    template, stamp = stamped.template["sequence_positions"], stamped.stamped["sequence_positions"]
    assert stamp.keys() == template.keys()
    for name, (last_value, is_called, top) in template.items():
        if top is None or _next_value(last_value, is_called) > top:
            assert stamp[name] == template[name], name
        else:  # the template's own sequence lags its rows (explicit ids in a data migration): continue after them
            assert stamp[name] == (top, True, top), name


def test_stamp_sequences_continue_after_the_copied_rows(stamped: Stamped) -> None:
    behind = {
        name: (last_value, is_called, top)
        for name, (last_value, is_called, top) in stamped.stamped["sequence_positions"].items()
        if top is not None and _next_value(last_value, is_called) <= top
    }
    assert behind == {}


def test_nothing_in_the_stamp_refers_to_the_template(stamped: Stamped) -> None:
    assert stamped.references == []


def _make_probe_template() -> None:
    """The real template plus objects Django's RunSQL could add, under another name."""
    stamp_schema(template=settings.TENANT_BASE_SCHEMA, schema=PROBE)
    _execute(f"""
        SET LOCAL search_path = {PROBE}, public;
        CREATE SEQUENCE invoice_number START 1000;
        CREATE TABLE invoice (
            id serial PRIMARY KEY,
            number bigint NOT NULL DEFAULT nextval('invoice_number'),
            scratch text,
            amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
            with_tax numeric(12, 2) GENERATED ALWAYS AS (amount * 1.2) STORED,
            owner_id bigint REFERENCES core_user (id) DEFERRABLE INITIALLY DEFERRED,
            code text COLLATE "C" UNIQUE DEFERRABLE
        );
        ALTER TABLE invoice DROP COLUMN scratch;
        ALTER TABLE invoice ADD CONSTRAINT invoice_positive CHECK (number > 0) NOT VALID;
        CREATE UNIQUE INDEX invoice_open_code ON invoice (code) WHERE amount > 0;
        COMMENT ON TABLE invoice IS 'Invoices; it''s a probe';
        COMMENT ON COLUMN invoice.amount IS 'before tax';
        CREATE FUNCTION invoice_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM invoice';
        CREATE FUNCTION invoice_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER invoice_touch BEFORE UPDATE ON invoice FOR EACH ROW EXECUTE FUNCTION invoice_touch();
        INSERT INTO invoice (amount, code) VALUES (10, 'A'), (20, 'B');
    """)
    _execute("SELECT set_config('search_path', 'public', true)")
    tenant_connection().set_schema_to_public()


def test_stamp_reproduces_functions_triggers_sequences_comments_and_odd_constraints(db: Any) -> None:
    _make_probe_template()

    stamp_schema(template=PROBE, schema="stamp_probe_copy")

    original, copy = snapshot(PROBE), snapshot("stamp_probe_copy")
    for part, value in original.items():
        assert copy[part] == value, part
    assert "invoice_touch" in repr(copy["triggers"])
    assert "invoice_count" in repr(copy["functions"])
    assert copy["sequence_positions"]["invoice_id_seq"] == (2, True, 2)
    assert copy["sequence_positions"]["invoice_number"] == (1001, True, None)
    assert references(schema="stamp_probe_copy", to=PROBE) == []


@pytest.mark.parametrize(
    ("ddl", "problem"),
    [
        ("CREATE VIEW {p}.big_invoices AS SELECT id FROM {p}.invoice WHERE amount > 100", "big_invoices"),
        ("CREATE FUNCTION {p}.pinned() RETURNS int LANGUAGE sql SET search_path = {p} AS 'SELECT 1'", "named in"),
        ("GRANT SELECT ON {p}.invoice TO pg_monitor", "grants"),
    ],
)
def test_a_template_the_stamp_cannot_reproduce_is_refused_and_onboarding_falls_back_to_the_clone_function(
    db: Any, ddl: str, problem: str
) -> None:
    _make_probe_template()
    _execute(ddl.format(p=PROBE))

    with pytest.raises(UnsupportedTemplate, match=problem):
        blueprint_for(PROBE)
    with override_settings(TENANT_BASE_SCHEMA=PROBE):
        assert _stamp_schema("stamp_probe_fallback") is True
    assert _rows(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'stamp_probe_fallback' AND tablename = 'invoice'"
    ) == [(1,)]


def test_the_blueprint_is_read_once_per_template_migration_state(db: Any) -> None:
    _make_probe_template()
    first = blueprint_for(PROBE)

    assert blueprint_for(PROBE) is first
    _execute(f"INSERT INTO {PROBE}.django_migrations (app, name, applied) VALUES ('probe', '0001_initial', now())")
    assert blueprint_for(PROBE) is not first


@pytest.mark.parametrize("name", ['acme"; DROP SCHEMA public; --', "Acme", "", "x" * 64])
def test_stamp_refuses_schema_names_a_firm_cannot_have(db: Any, name: str) -> None:
    with pytest.raises(ValueError, match="schema name"):
        stamp_schema(template=settings.TENANT_BASE_SCHEMA, schema=name)
