"""`portico tenants migrate` across firms (issue 17 item 4): parallel, a transaction per firm, failures reported.

Two committed firms of the test's own are put back to billing 0016 (as a firm not
yet migrated to this release is: 0017 adds four columns and a unique index), then
migrated again: from SQL Django
writes once for the group, applied to each firm in its own transaction with the
history rows; a firm that fails is rolled back whole and reported while the other
is migrated, and the next run picks it up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from tenants.db import tenant_connection
from tenants.migrate import migrate_all
from tenants.models import Tenant
from tenants.schema_state import pending_migrations
from tests.support.firms import FirmSpec, committed_firm

pytestmark = pytest.mark.slow

PREVIOUS = "0016_payment_plans"


def _after_previous() -> set[tuple[str, str]]:
    """Billing's migrations after PREVIOUS (0017 adds the columns checked below, and any later ones)."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    (leaf,) = graph.leaf_nodes("billing")
    return {node for node in graph.forwards_plan(leaf) if node[0] == "billing"} - set(
        graph.forwards_plan(("billing", PREVIOUS))
    )


@pytest.fixture
def two_firms(django_db_setup: object, django_db_blocker: Any) -> Iterator[tuple[Tenant, Tenant]]:
    with (
        committed_firm(FirmSpec("migone", "Mig One LLP", "eu-central-1", "a@migone.test"), django_db_blocker) as one,
        committed_firm(FirmSpec("migtwo", "Mig Two LLP", "us-east-1", "a@migtwo.test"), django_db_blocker) as two,
    ):
        for firm in (one, two):
            call_command("migrate_schemas", "billing", PREVIOUS, schema_name=firm.schema_name, verbosity=0)
        tenant_connection().set_schema_to_public()
        yield one, two


def _columns(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [schema, "billing_onlinepayment"],
        )
        return {row[0] for row in cursor.fetchall()}


def test_firms_behind_are_migrated_in_parallel_each_in_its_own_transaction(two_firms: tuple[Tenant, Tenant]) -> None:
    one, two = two_firms
    before = pending_migrations([one.schema_name, two.schema_name])
    lines: list[str] = []

    report = migrate_all(progress=lambda i, total, schema, outcome: lines.append(f"[{i}/{total}] {schema}: {outcome}"))

    after = _after_previous()
    assert ("billing", "0017_checkout_sessions") in after
    assert before == {one.schema_name: after, two.schema_name: after}
    assert sorted(report.migrated) == ["migone", "migtwo"]
    assert report.failed == {}
    assert report.problems == []
    assert pending_migrations([one.schema_name, two.schema_name]) == {}
    assert "checkout_session_id" in _columns("migone")
    assert "checkout_session_id" in _columns("migtwo")
    assert any(line.endswith(f"migone: migrated ({len(after)} migrations)") for line in lines)
    assert any("portico_template: up to date" in line for line in lines)
    assert migrate_all().migrated == []  # nothing left: the second run applies nothing


def test_a_firm_that_fails_is_rolled_back_and_reported_the_others_are_migrated_and_a_rerun_finishes_it(
    two_firms: tuple[Tenant, Tenant],
) -> None:
    one, two = two_firms
    with connection.cursor() as cursor:  # an object in the way: migration 0017 cannot add its column here
        cursor.execute('ALTER TABLE "migtwo".billing_onlinepayment ADD COLUMN checkout_session_id text')

    first = migrate_all()
    still_behind = pending_migrations([one.schema_name, two.schema_name])
    columns_after_failure = _columns("migtwo")
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE "migtwo".billing_onlinepayment DROP COLUMN checkout_session_id')
    second = migrate_all()

    assert first.migrated == ["migone"]
    assert list(first.failed) == ["migtwo"]
    assert "checkout_session_id" in first.failed["migtwo"]
    assert "already exists" in first.failed["migtwo"]
    assert still_behind == {"migtwo": _after_previous()}
    # Rolled back whole: none of 0017's other columns or its history row reached the firm.
    assert "checkout_expires_at" not in columns_after_failure
    assert second.migrated == ["migtwo"]
    assert second.failed == {}
    assert pending_migrations([one.schema_name, two.schema_name]) == {}
