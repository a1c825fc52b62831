"""A firm is never served public's copy of one of its tables (django-tenants' fallback to public).

A firm's search_path is ``<firm>, public``: a tenant table missing from the
firm's schema resolves to a same-named table in public. Each test breaks the
schemas inside its own transaction (rolled back after) the way a failed
migration or a hand-made table would, and expects the firm refused (503, no
data) and ``portico tenants migrate`` to name the problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from django.db import connection

from tenants.cli import main
from tenants.schema_check import forget_verified, remember_verified, schema_problems
from tests.support.firms import Firm


@pytest.fixture(autouse=True)
def _check_again() -> Iterator[None]:
    """Check the schemas afresh here; afterwards (the breakage rolled back) the earlier verdicts stand."""
    passed = forget_verified()
    yield
    forget_verified()
    remember_verified(passed)


def test_every_firm_holds_every_tenant_table_and_public_none_of_theirs(firm_a: Firm, firm_b: Firm) -> None:
    assert schema_problems("acme") == []
    assert schema_problems("globex") == []
    with firm_a.tenant, connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.oid = 'django_content_type'::regclass"
        )
        assert cursor.fetchone() == ("acme",)  # the firm's own content types, not public's


def test_a_firm_missing_a_table_that_public_has_is_refused_not_served_from_public(firm_a: Firm) -> None:
    alice = firm_a.client(firm_a.admin)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE acme.django_content_type RENAME TO django_content_type_moved")
        cursor.execute("SET search_path = acme, public")
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.oid = 'django_content_type'::regclass"
        )
        assert cursor.fetchone() == ("public",)  # what the firm's connection would now read

    home = alice.get("/")
    me = alice.get("/api/v1/me")

    assert home.status_code == 503
    assert me.status_code == 503
    assert b"alice@acme.test" not in home.content + me.content
    assert "schema acme has no table django_content_type" in schema_problems("acme")[0]


def test_a_firms_table_in_public_is_refused_and_reported_by_migrate(firm_a: Firm) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.core_notification (LIKE acme.core_notification)")

    assert firm_a.client(firm_a.admin).get("/").status_code == 503
    result = CliRunner().invoke(main, ["tenants", "migrate", "--json"], prog_name="portico")
    assert result.exit_code == 1
    assert "public has the firms' table core_notification" in result.stderr
    assert json.loads(result.stdout)["problems"] == [
        "public has the firms' table core_notification: a firm missing it would read public's rows"
    ]
