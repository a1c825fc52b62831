"""Stamp a firm's schema out of the template in one round trip.

django-tenants' ``clone_schema()`` (PL/pgSQL) walks the catalog object by object
on every onboarding, and what it builds differs from a migrated schema (unique
constraints renamed ``*_key``, identity sequences retyped ``bigint``, explicit
grants). Here the template's DDL is read from the catalog once per template
migration state (a *blueprint*, cached in the process) and replayed with the
schema name swapped, as one multi-statement query: functions, sequences,
tables with their columns, defaults, identity columns (same sequence names and
options), primary keys, unique, check and exclusion constraints; then the
template's rows (migration history, content types, permissions, roles...) and
sequence positions; then indexes, foreign keys and triggers. Dropped columns
are recreated and dropped again so ordinal positions match too. Nothing in the
result refers to the template.

Definitions are replayed from PostgreSQL's own deparsed text, as pg_dump does:
an expression PostgreSQL does not deparse verbatim (a CHECK with ``IN`` on a
varchar column comes back as ``= ANY (ARRAY[...])`` with its casts moved) is
recreated equal in meaning but spelled differently; such a constraint should be
written without ``IN`` (as billing.ledger's account check is).

The blueprint covers what Django migrations (and the RunSQL in them) create.
When the template holds anything else (views, grants, policies, types...),
``UnsupportedTemplate`` is raised before anything is written, and the caller
falls back to the clone function.
"""

# Every statement is built from identifiers quoted by PostgreSQL (quote_ident)
# and the template's and firm's schema names, which are fixed or checked.
# ruff: noqa: S608

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.db.backends.utils import CursorWrapper

from tenants.db import tenant_connection

logger = logging.getLogger(__name__)

TARGET = "\x01target\x01"  # stands for the quoted new schema name in a blueprint
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class UnsupportedTemplate(Exception):
    """The template holds objects a blueprint cannot reproduce faithfully."""


@dataclass(frozen=True)
class Blueprint:
    template: str
    state: str
    sql: str  # every statement, with TARGET in place of the new schema

    def for_schema(self, schema: str) -> str:
        return self.sql.replace(TARGET, f'"{schema}"')


_blueprints: dict[tuple[str, str], Blueprint | UnsupportedTemplate] = {}


def stamp_schema(*, template: str, schema: str) -> None:
    """Create ``schema`` as a copy of ``template`` (DDL and rows), inside the caller's transaction."""
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"not a schema name a firm can have: {schema!r}")
    blueprint = blueprint_for(template)
    with connection.cursor() as cursor:
        cursor.execute(blueprint.for_schema(schema))


def blueprint_for(template: str) -> Blueprint:
    """The template's blueprint, read from the catalog unless cached for its migration state."""
    tenant_connection().set_schema_to_public()  # the template must not be on the search path (see _Catalog)
    with connection.cursor() as cursor:
        key = (template, _migration_state(cursor, template))
        cached = _blueprints.get(key)
        if cached is None:
            try:
                cached = _Catalog(cursor, template).blueprint(state=key[1])
            except UnsupportedTemplate as exc:
                logger.warning("onboarding will use the clone function: %s", exc)
                cached = exc
            _blueprints[key] = cached
    if isinstance(cached, UnsupportedTemplate):
        raise cached
    return cached


def _migration_state(cursor: CursorWrapper, template: str) -> str:
    """The template's applied migrations, and which schema and server they are in (a re-created
    template is a new schema, and each server version prints definitions its own way)."""
    cursor.execute(
        "SELECT current_setting('server_version_num'), (SELECT oid FROM pg_namespace WHERE nspname = %s), "
        f"string_agg(app || '.' || name, ',' ORDER BY app, name) FROM \"{template}\".django_migrations",
        [template],
    )
    version, namespace, names = cursor.fetchone()
    return hashlib.sha256(f"{version}:{namespace}:{names}".encode()).hexdigest()


_SAVED_SETTING = "portico.stamp_check_function_bodies"
# Parameters of every catalog query: the template's namespace and its tables (both oids).
_NAMESPACE = "%(namespace)s::oid"
_TABLES = "ANY(%(tables)s::oid[])"
_OWNER = "(SELECT oid FROM pg_roles WHERE rolname = current_user)"

# Anything a blueprint would not reproduce exactly; each row names one problem.
_UNSUPPORTED_SQL = f"""
SELECT 'relation ' || relname || ' of kind ' || relkind::text FROM pg_class
 WHERE relnamespace = {_NAMESPACE} AND relkind NOT IN ('r', 'i', 'S')
UNION ALL
SELECT 'relation ' || relname || ' has storage options, grants, row security, inheritance or another owner'
  FROM pg_class c WHERE relnamespace = {_NAMESPACE}
   AND (relpersistence <> 'p' OR (relkind = 'r' AND reloptions IS NOT NULL) OR reltablespace <> 0
        OR relrowsecurity OR relacl IS NOT NULL OR relispartition OR relhassubclass
        OR (relkind = 'r' AND relreplident <> 'd') OR relowner <> {_OWNER}
        OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid))
UNION ALL
SELECT 'sequence ' || s.relname || ' belongs to something else than a column of its schema' FROM pg_class s
  JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  JOIN pg_class t ON t.oid = d.refobjid
 WHERE s.relnamespace = {_NAMESPACE} AND s.relkind = 'S' AND (t.relnamespace <> s.relnamespace OR d.refobjsubid = 0)
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' has storage, statistics, grants or sequence-type settings'
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid
 WHERE a.attrelid = {_TABLES} AND a.attnum > 0 AND NOT a.attisdropped
   AND (a.attstorage <> t.typstorage OR a.attcompression <> '' OR COALESCE(a.attstattarget::int, -1) <> -1
        OR a.attacl IS NOT NULL
        OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_sequence q ON q.seqrelid = d.objid
                    WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                      AND d.refobjsubid = a.attnum AND d.deptype = 'i'
                      AND q.seqtypid <> a.atttypid))
UNION ALL
SELECT 'trigger ' || tgname || ' is disabled or on another schema''s table' FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
 WHERE NOT t.tgisinternal AND (c.relnamespace = {_NAMESPACE} AND t.tgenabled <> 'O'
       OR c.relnamespace <> {_NAMESPACE} AND t.tgfoid IN (SELECT oid FROM pg_proc WHERE pronamespace = {_NAMESPACE}))
UNION ALL
SELECT 'rule ' || rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = {_NAMESPACE}
UNION ALL
SELECT 'policy ' || polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = {_NAMESPACE}
UNION ALL
SELECT 'constraint ' || conname || ' is not one a blueprint reproduces' FROM pg_constraint c
 WHERE connamespace = {_NAMESPACE} AND (contype NOT IN ('p', 'u', 'x', 'c', 'f', 'n', 't') OR conrelid = 0
       OR (contype = 'n' AND (NOT convalidated OR connoinherit))
       OR (contype = 'f' AND (SELECT relnamespace FROM pg_class WHERE oid = c.confrelid) <> {_NAMESPACE}))
UNION ALL
SELECT 'index ' || c.relname || ' is clustered or a replica identity' FROM pg_index i JOIN pg_class c
    ON c.oid = i.indexrelid WHERE c.relnamespace = {_NAMESPACE} AND (i.indisclustered OR i.indisreplident)
UNION ALL
SELECT 'function ' || proname || ' is an aggregate, has grants or another owner' FROM pg_proc
 WHERE pronamespace = {_NAMESPACE} AND (prokind NOT IN ('f', 'p') OR proacl IS NOT NULL OR proowner <> {_OWNER})
UNION ALL
SELECT 'type ' || typname FROM pg_type t WHERE typnamespace = {_NAMESPACE} AND typrelid = 0
   AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)
UNION ALL
SELECT 'collation ' || collname FROM pg_collation WHERE collnamespace = {_NAMESPACE}
UNION ALL
SELECT 'operator ' || oprname FROM pg_operator WHERE oprnamespace = {_NAMESPACE}
UNION ALL
SELECT 'extension ' || extname FROM pg_extension WHERE extnamespace = {_NAMESPACE}
UNION ALL
SELECT 'statistics object ' || stxname FROM pg_statistic_ext WHERE stxnamespace = {_NAMESPACE}
UNION ALL
SELECT 'text search configuration ' || cfgname FROM pg_ts_config WHERE cfgnamespace = {_NAMESPACE}
UNION ALL
SELECT 'comment on ' || d.classoid::regclass::text || ' ' || d.objoid FROM pg_description d
 WHERE d.classoid = 'pg_class'::regclass
       AND d.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = {_NAMESPACE} AND relkind <> 'r')
    OR d.classoid = 'pg_constraint'::regclass
       AND d.objoid IN (SELECT oid FROM pg_constraint WHERE connamespace = {_NAMESPACE})
    OR d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = {_NAMESPACE})
    OR d.classoid = 'pg_trigger'::regclass AND d.objoid IN
       (SELECT t.oid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = {_NAMESPACE})
"""

_FUNCTIONS_SQL = f"SELECT pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = {_NAMESPACE} ORDER BY oid"

_SEQUENCES_SQL = f"""
SELECT quote_ident(s.relname),
       format('START WITH %%s INCREMENT BY %%s MINVALUE %%s MAXVALUE %%s CACHE %%s %%s', q.seqstart, q.seqincrement,
              q.seqmin, q.seqmax, q.seqcache, CASE WHEN q.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END),
       format_type(q.seqtypid, NULL),
       (SELECT d.deptype = 'i' FROM pg_depend d
         WHERE d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')),
       (SELECT quote_ident(t.relname) || '.' || quote_ident(a.attname) FROM pg_depend d
          JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         WHERE d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')),
       q.seqincrement > 0
  FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid
 WHERE s.relnamespace = {_NAMESPACE} ORDER BY s.relname
"""

_TABLES_SQL = f"""
SELECT c.oid, quote_ident(c.relname), quote_literal(obj_description(c.oid, 'pg_class'))
  FROM pg_class c WHERE c.relnamespace = {_NAMESPACE} AND c.relkind = 'r' ORDER BY c.relname
"""

_COLUMNS_SQL = f"""
SELECT a.attrelid, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation THEN
            (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co
               JOIN pg_namespace n ON n.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
       quote_literal(col_description(a.attrelid, a.attnum)),
       (SELECT quote_ident(conname) FROM pg_constraint nn
         WHERE nn.contype = 'n' AND nn.conrelid = a.attrelid AND nn.conkey[1] = a.attnum),
       (SELECT quote_ident(s.relname) FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid
         WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum
           AND dep.classid = 'pg_class'::regclass
           AND dep.deptype = 'i'),
       a.attisdropped
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = {_TABLES} AND a.attnum > 0
 ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS_SQL = f"""
SELECT c.conrelid, quote_ident(c.conname), c.contype, c.convalidated, pg_get_constraintdef(c.oid)
  FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
 WHERE r.relnamespace = {_NAMESPACE} AND c.contype IN ('p', 'u', 'x', 'c', 'f')
 ORDER BY position(c.contype IN 'puxcf'), r.relname, c.conname
"""

_INDEXES_SQL = f"""
SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE ic.relnamespace = {_NAMESPACE} AND NOT EXISTS
       (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
           AND c.contype IN ('p', 'u', 'x'))
 ORDER BY ic.relname
"""

_TRIGGERS_SQL = f"""
SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = {_NAMESPACE} AND NOT t.tgisinternal ORDER BY c.relname, t.tgname
"""


class _Column(NamedTuple):
    name: str
    type: str
    not_null: bool
    default: str | None  # also the expression of a generated column
    identity: str  # '', 'a' (always) or 'd' (by default)
    generated: str  # '', 's' (stored) or 'v' (virtual)
    collation: str | None
    comment: str | None  # already a literal
    not_null_name: str | None  # PostgreSQL 18 names NOT NULL constraints
    sequence: str | None  # the identity's sequence
    # A dropped column still holds its position: it is created and dropped again
    # so that the columns after it keep the template's ordinal positions.
    dropped: bool

    @property
    def placeholder(self) -> str:
        return "portico_stamp_dropped_" + "".join(char for char in self.name if char.isdigit())

    def definition(self, retarget: Callable[[str], str], sequences: dict[str, str]) -> str:
        if self.dropped:
            return f"{self.placeholder} integer"
        parts = [self.name, self.type]
        if self.collation:
            parts.append(f"COLLATE {self.collation}")
        if self.not_null:
            parts.append(f"CONSTRAINT {self.not_null_name} NOT NULL" if self.not_null_name else "NOT NULL")
        if self.identity and self.sequence:
            kind = "ALWAYS" if self.identity == "a" else "BY DEFAULT"
            options = f"SEQUENCE NAME {TARGET}.{self.sequence} {sequences[self.sequence]}"
            parts.append(f"GENERATED {kind} AS IDENTITY ({options})")
        elif self.generated and self.default is not None:
            storage = "VIRTUAL" if self.generated == "v" else "STORED"
            parts.append(f"GENERATED ALWAYS AS ({retarget(self.default)}) {storage}")
        elif self.default is not None:
            parts.append(f"DEFAULT {retarget(self.default)}")
        return " ".join(parts)


class _Catalog:
    """Reads one template schema from the catalog and writes its blueprint.

    The connection's search path must not include the template, so that every
    reference to the template's objects in pg_get_*def() output is qualified
    with its name, which is then swapped for TARGET.
    """

    def __init__(self, cursor: CursorWrapper, template: str) -> None:
        self.cursor = cursor
        self.template = template
        cursor.execute("SELECT oid, quote_ident(nspname) FROM pg_namespace WHERE nspname = %s", [template])
        namespace, quoted = cursor.fetchone()
        # Literal oids, not subqueries: with hundreds of firms the catalogs are large, and
        # the planner then picks index scans.
        self.params: dict[str, Any] = {"namespace": namespace, "tables": []}
        self.params["tables"] = [row[0] for row in self._rows(_TABLES_SQL)]
        self.source = f'"{template}"'
        self._qualifier: re.Pattern[str] = re.compile(r'(?<![\w$"])' + re.escape(quoted) + r"\.")
        self._mention = re.compile(r"(?<![\w$])" + re.escape(template) + r"(?![\w$])")

    def _rows(self, query: str) -> list[tuple[Any, ...]]:
        self.cursor.execute(query, self.params)
        return list(self.cursor.fetchall())

    def _retarget(self, text: str) -> str:
        retargeted = self._qualifier.sub(lambda _: f"{TARGET}.", text)
        if self._mention.search(retargeted):  # e.g. a function body or setting naming the template
            raise UnsupportedTemplate(f"template {self.template!r} is named in a definition: {text[:200]!r}")
        return retargeted

    def blueprint(self, *, state: str) -> Blueprint:
        problems = [row[0] for row in self._rows(_UNSUPPORTED_SQL)]
        if problems:
            raise UnsupportedTemplate(f"template {self.template!r} holds " + "; ".join(sorted(problems)[:5]))
        statements = [f"CREATE SCHEMA {TARGET};", *self._functions()]
        sequences: dict[str, str] = {}
        owners: dict[str, str | None] = {}
        owned: list[str] = []
        for name, options, type_, identity, column, ascending in self._rows(_SEQUENCES_SQL):
            sequences[name], owners[name] = options, column if ascending else None
            if not identity:  # a standalone or serial sequence; identity ones come with their column
                statements.append(f"CREATE SEQUENCE {TARGET}.{name} AS {type_} {options};")
                if column:
                    owned.append(f"ALTER SEQUENCE {TARGET}.{name} OWNED BY {TARGET}.{column};")
        tables = {oid: (name, comment) for oid, name, comment in self._rows(_TABLES_SQL)}
        columns: dict[int, list[_Column]] = {oid: [] for oid in tables}
        for row in self._rows(_COLUMNS_SQL):
            columns[row[0]].append(_Column(*row[1:]))
        inline: dict[int, list[str]] = {oid: [] for oid in tables}
        later: dict[int, list[str]] = {}  # foreign keys (the tables must exist) and NOT VALID constraints
        for table, name, contype, validated, definition in self._rows(_CONSTRAINTS_SQL):
            clause = f"CONSTRAINT {name} {self._retarget(definition)}"
            if contype == "f" or not validated:
                later.setdefault(table, []).append(f"ADD {clause}")
            else:
                inline[table].append(clause)
        for oid, (name, comment) in tables.items():
            statements.append(self._create_table(name, columns[oid], inline[oid], sequences))
            statements.extend(self._comments(name, comment, columns[oid]))
        statements.extend(owned)
        statements.extend(filter(None, (self._copy_rows(name, columns[oid]) for oid, (name, _) in tables.items())))
        statements.extend(self._copy_position(name, owners[name]) for name in sequences)
        statements.extend(self._retarget(definition) + ";" for (definition,) in self._rows(_INDEXES_SQL))
        statements.extend(f"ALTER TABLE {TARGET}.{tables[oid][0]} {', '.join(add)};" for oid, add in later.items())
        statements.extend(self._retarget(definition) + ";" for (definition,) in self._rows(_TRIGGERS_SQL))
        return Blueprint(template=self.template, state=state, sql="\n".join(statements))

    def _functions(self) -> list[str]:
        """Functions first, their bodies unchecked until the tables they use exist (as pg_dump does)."""
        functions = [self._retarget(definition) + ";" for (definition,) in self._rows(_FUNCTIONS_SQL)]
        if not functions:
            return []
        return [
            f"SELECT set_config('{_SAVED_SETTING}', current_setting('check_function_bodies'), true),"
            " set_config('check_function_bodies', 'off', true);",
            *functions,
            f"SELECT set_config('check_function_bodies', current_setting('{_SAVED_SETTING}'), true);",
        ]

    def _create_table(
        self, table: str, columns: list[_Column], constraints: list[str], sequences: dict[str, str]
    ) -> str:
        lines = [column.definition(self._retarget, sequences) for column in columns] + constraints
        statement = f"CREATE TABLE {TARGET}.{table} (\n    " + ",\n    ".join(lines) + "\n);"
        dropped = [f"DROP COLUMN {column.placeholder}" for column in columns if column.dropped]
        if dropped:
            statement += f"\nALTER TABLE {TARGET}.{table} " + ", ".join(dropped) + ";"
        return statement

    def _comments(self, table: str, comment: str | None, columns: list[_Column]) -> list[str]:
        statements = [f"COMMENT ON TABLE {TARGET}.{table} IS {comment};"] if comment else []
        statements.extend(
            f"COMMENT ON COLUMN {TARGET}.{table}.{column.name} IS {column.comment};"
            for column in columns
            if column.comment and not column.dropped
        )
        return statements

    def _copy_position(self, sequence: str, column: str | None) -> str:
        """The template's sequence position; past the copied rows of its column if that is behind
        (a migration that inserts explicit ids leaves the sequence where it was)."""
        regclass = f"{TARGET}.{sequence}".replace("'", "''")
        source = f"{self.source}.{sequence}"
        if column is None:
            return f"SELECT pg_catalog.setval('{regclass}', last_value, is_called) FROM {source};"
        table, name = column.rsplit(".", 1)
        behind = "top >= last_value + is_called::int"
        return (
            f"SELECT pg_catalog.setval('{regclass}', CASE WHEN {behind} THEN top ELSE last_value END, "
            f"CASE WHEN {behind} THEN true ELSE is_called END) "
            f"FROM {source}, (SELECT max({name}) AS top FROM {TARGET}.{table}) AS copied;"
        )

    def _copy_rows(self, table: str, columns: list[_Column]) -> str:
        """The template's rows, copied at stamping time (triggers are created after this)."""
        names = ", ".join(column.name for column in columns if not (column.generated or column.dropped))
        if not names:
            return ""
        source = f"{self.source}.{table}"
        return f"INSERT INTO {TARGET}.{table} ({names}) OVERRIDING SYSTEM VALUE SELECT {names} FROM {source};"
