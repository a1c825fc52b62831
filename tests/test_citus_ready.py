"""Ready for Citus schema-based sharding (issue 15 item 8, SPEC §2), checked on what PostgreSQL holds.

Citus places each firm's schema on a node: nothing may tie two firms' schemas together, a
firm's tables may point only at small reference tables of the control plane, ids must not
run out (bigint everywhere), tenant code must not name a schema of its own choosing, and the
control plane (public) must stay small and read-mostly: no request writes it. Each check is
a function over the database or the source, and each is also shown failing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tenants.models import Tenant
from tests.support.cast import Cast
from tests.support.firms import PASSWORD, Firm
from tests.test_url_access import _victim_ids, all_routes, path_of

ROOT = Path(__file__).resolve().parent.parent
# Control-plane tables tenant code may reach from a firm's schema: small, read-mostly, and to be
# declared Citus reference tables (replicated to every node: `SELECT create_reference_table(...)`).
# residency's trigger on the firm's inventory reads both (one row per firm; a few per key version),
# qualified with public. so that it does not depend on search_path. Only ops writes them (below).
REFERENCE_TABLES = frozenset({"tenants_tenant", "kms_keyencryptionkey"})
# Tenant code: the apps whose tables live in each firm's schema, and their migrations.
TENANT_CODE = ("core", "billing", "portal", "api", "residency")


def tenant_schemas() -> list[str]:
    return [
        settings.TENANT_BASE_SCHEMA,
        *Tenant.objects.filter(kind=Tenant.Kind.FIRM).values_list("schema_name", flat=True),
    ]


# --- Foreign keys ----------------------------------------------------------------------------------


def foreign_keys_leaving(schemas: Iterable[str]) -> list[str]:
    """Foreign keys from a table of ``schemas`` to a table in another schema (not a reference table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname, src_ns.nspname, src.relname, dst_ns.nspname, dst.relname
            FROM pg_constraint c
            JOIN pg_class src ON src.oid = c.conrelid
            JOIN pg_namespace src_ns ON src_ns.oid = src.relnamespace
            JOIN pg_class dst ON dst.oid = c.confrelid
            JOIN pg_namespace dst_ns ON dst_ns.oid = dst.relnamespace
            WHERE c.contype = 'f' AND src_ns.nspname = ANY(%s) AND src_ns.oid <> dst_ns.oid
            ORDER BY 2, 3, 1
            """,
            [list(schemas)],
        )
        rows = cursor.fetchall()
    return [
        f"{src_schema}.{src} -> {dst_schema}.{dst} ({name})"
        for name, src_schema, src, dst_schema, dst in rows
        if not (dst_schema == "public" and dst in REFERENCE_TABLES)
    ]


def test_no_foreign_key_leaves_a_firms_schema(firm_a: Firm, firm_b: Firm) -> None:
    assert foreign_keys_leaving(tenant_schemas()) == []


def test_the_foreign_key_check_finds_one_into_the_control_plane_and_one_into_another_firm(
    firm_a: Firm, firm_b: Firm
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE acme.citus_probe (key_id bigint REFERENCES public.kms_fieldkey (id))")
        cursor.execute("CREATE TABLE acme.citus_probe_two (user_id bigint REFERENCES globex.core_user (id))")

    found = foreign_keys_leaving(["acme"])

    assert [entry.split(" (")[0] for entry in found] == [
        "acme.citus_probe -> public.kms_fieldkey",
        "acme.citus_probe_two -> globex.core_user",
    ]


# --- Ids: bigint --------------------------------------------------------------------------------------


def narrow_ids(schemas: Iterable[str]) -> list[str]:
    """Sequences narrower than bigint, and key columns narrower than the bigint they point at."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, sequencename, data_type::regtype::text FROM pg_sequences "
            "WHERE schemaname = ANY(%s) AND data_type <> 'bigint'::regtype ORDER BY 1, 2",
            [list(schemas)],
        )
        problems = [f"sequence {schema}.{name} is {kind}" for schema, name, kind in cursor.fetchall()]
        cursor.execute(
            """
            SELECT ns.nspname, cl.relname, att.attname, format_type(att.atttypid, att.atttypmod)
            FROM pg_constraint c
            JOIN pg_class cl ON cl.oid = c.conrelid
            JOIN pg_namespace ns ON ns.oid = cl.relnamespace
            JOIN pg_attribute att ON att.attrelid = c.conrelid AND att.attnum = ANY(c.conkey)
            WHERE c.contype IN ('p', 'f') AND ns.nspname = ANY(%s)
              AND att.atttypid IN ('smallint'::regtype, 'integer'::regtype)
            ORDER BY 1, 2, 3
            """,
            [list(schemas)],
        )
        problems += [
            f"key column {schema}.{table}.{column} is {kind}" for schema, table, column, kind in cursor.fetchall()
        ]
    return problems


def test_every_id_in_a_firms_schema_is_a_bigint(firm_a: Firm, firm_b: Firm) -> None:
    found = narrow_ids(tenant_schemas())
    assert found == [], found


def test_the_id_check_finds_a_serial_column(firm_a: Firm) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE acme.citus_narrow (id serial PRIMARY KEY)")

    assert {
        "sequence acme.citus_narrow_id_seq is integer",
        "key column acme.citus_narrow.id is integer",
    } <= set(narrow_ids(["acme"]))


# --- Schema-qualified SQL in tenant code -------------------------------------------------------------

# A schema named in the SQL itself: a query that reads or writes another schema than the firm's.
QUALIFIED = re.compile(
    r"""(?ix) (?:\b|")(?:public|portico_template|pg_temp)"?\s*\.\s*"?([a-z_]+)"""
    r"""| \bset\s+(?:local\s+)?search_path\b | set_config\(\s*'search_path'"""
)


def schema_qualified_sql(paths: Iterable[Path]) -> list[str]:
    """String literals of tenant code that name a fixed schema, and sql.Identifier calls that do."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text())
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for match in QUALIFIED.finditer(node.value):
                    if match.group(0).lower().startswith("public.") and match.group(1) in REFERENCE_TABLES:
                        continue  # a reference table, present on every node
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {match.group(0)!r}")
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func).endswith("Identifier")
                and len(node.args) > 1
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: schema {node.args[0].value!r} in sql.Identifier")
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants of ``tree`` (prose may name a schema)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _tenant_code() -> list[Path]:
    return sorted(path for package in TENANT_CODE for path in (ROOT / package).rglob("*.py"))


def test_tenant_code_names_no_schema_of_its_own_choosing() -> None:
    """The firm's own schema (search_path, or the firm's schema_name) is the only one tenant code may use."""
    paths = _tenant_code()

    assert len(paths) > 100
    assert schema_qualified_sql(paths) == []


def test_the_schema_check_finds_qualified_sql(tmp_path: Path) -> None:
    sample = ROOT / "core" / "_citus_probe_sample.py"
    sample.write_text(
        '"""Reads public.core_user (a docstring may say so)."""\n'
        'FIRMS = "SELECT slug FROM public.tenants_tenant JOIN public.core_user ON true"\n'
        "TEMPLATE = 'INSERT INTO \"portico_template\".core_user DEFAULT VALUES'\n"
        'MOVE = "SET search_path TO globex, public"\n'
        'from psycopg import sql\nOTHER = sql.Identifier("globex", "core_user")\n'
    )
    try:
        found = schema_qualified_sql([sample])
    finally:
        sample.unlink()

    assert [line.split(": ", 1)[1] for line in found] == [
        "'public.core_user'",
        "'\"portico_template\".core_user'",
        "'SET search_path'",
        "schema 'globex' in sql.Identifier",
    ]


# --- The control plane is not written on a request path -----------------------------------------------


def public_tables_written() -> dict[str, int]:
    """Rows written to public's tables so far in this transaction (any cursor, triggers included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE schemaname = 'public' AND n_tup_ins + n_tup_upd + n_tup_del > 0"
        )
        return dict(cursor.fetchall())


def _visit_every_page(cast: Cast) -> int:
    """Every GET URL of the firm's site as the firm admin and as a client, and the common POSTs."""
    ids = _victim_ids(cast)
    visited = 0
    admin = cast.firm.client(cast.alice)
    client = cast.firm.client(cast.carol)
    for route in all_routes():
        if set(route.converters) - set(ids):
            continue  # the emailed set-password link: a token, not an object
        path = path_of(route, ids)
        for who in (admin, client):
            who.get(path)
            visited += 1
    anonymous = Client(HTTP_HOST=cast.firm.host)
    anonymous.post("/accounts/login/", {"username": "carol@acme.test", "password": PASSWORD})
    anonymous.post("/accounts/login/", {"username": "carol@acme.test", "password": "wrong"})
    client.post("/portal/language/", {"language": "es", "next": "/"})
    return visited + 3


def test_no_request_writes_the_control_plane(cast: Cast) -> None:
    before = public_tables_written()

    visited = _visit_every_page(cast)
    after = public_tables_written()

    assert visited > 100
    assert {table: n - before.get(table, 0) for table, n in after.items() if n != before.get(table, 0)} == {}


def test_the_control_plane_check_sees_a_write(firm_a: Firm) -> None:
    before = public_tables_written()
    Tenant.objects.filter(pk=firm_a.tenant.pk).update(name="Acme Immigration LLP")

    assert public_tables_written().get("tenants_tenant", 0) == before.get("tenants_tenant", 0) + 1


@pytest.mark.parametrize("schema", ["public"])
def test_public_holds_only_the_control_plane(schema: str, firm_a: Firm) -> None:
    """Small and read-mostly: the control plane's tables, and public's own copy of the content types."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        tables = {row[0] for row in cursor.fetchall()}

    assert {table.split("_", 1)[0] for table in tables} <= {"tenants", "kms", "django"}
