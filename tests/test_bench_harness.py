"""The many-firm bench harness (``bench/many_firms.py``, issue 17 item 1), on the test database.

Three firms of the harness's own (``hx0000``..., committed: the harness onboards them with
``tenant_create`` as the benchmarks do) get the recipe's rows: the first through the
product's services, the others copied from it. Each firm's rows must be its own and hold
together (clients with the client role on the firm's domain, matters of theirs, documents
of those matters, invoices posted to a balanced ledger whose monthly totals match its
lines), the staff page must list them; a second call finds the firms by their marker and
onboards nothing; an unfinished firm is onboarded again; asking for fewer firms than are
kept is refused; dropping removes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from bench import many_firms
from billing.ledger.verify import ledger_verify
from billing.models import Invoice, JournalLine
from core.models import Document, Matter, User
from core.roles import Role
from tenants.db import tenant_connection
from tenants.models import Tenant

pytestmark = pytest.mark.slow

PREFIX = "hx"
SLUGS = ["hx0000", "hx0001", "hx0002"]


@pytest.fixture
def harness(django_db_setup: object, django_db_blocker: Any) -> Iterator[None]:
    """The harness's firms are committed; any left by a killed run are removed first, and all of them after."""
    from kms import signing

    with django_db_blocker.unblock():
        many_firms.firms_drop(PREFIX)
        signing.forget_cached_key()
        try:
            yield
        finally:
            connections.close_all()
            signing.forget_cached_key()
            many_firms.firms_drop(PREFIX)


def _schema_comment(schema: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", [schema])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _check_rows(tenant: Tenant) -> None:
    """The firm's rows hold together, read through the ORM in its own schema."""
    recipe = many_firms.RECIPE
    with tenant:
        clients = list(User.objects.filter(groups__name=Role.CLIENT.value).order_by("email"))
        assert [user.email for user in clients] == [f"client{n}@{tenant.slug}.test" for n in range(recipe.clients)]
        assert not any(user.is_staff for user in clients)
        matters = list(Matter.objects.select_related("client", "matter_type", "stage").order_by("reference"))
        assert len(matters) == recipe.matters
        assert len({m.matter_type.code for m in matters if m.matter_type}) == min(recipe.matters, 6)
        assert all(m.client in clients and m.stage is not None for m in matters)
        assert all(m.stage.matter_type_id == m.matter_type_id for m in matters if m.stage)
        documents = list(Document.objects.select_related("matter", "requirement"))
        assert len(documents) == recipe.matters * recipe.documents
        assert all(d.uploaded_by_id == d.matter.client_id for d in documents)
        assert all(d.requirement is None or d.requirement.matter_type_id == d.matter.matter_type_id for d in documents)
        invoices = list(Invoice.objects.select_related("matter", "issue_entry"))
        assert len(invoices) == recipe.matters
        assert all(i.client_id == i.matter.client_id for i in invoices)
        issued = [i for i in invoices if i.number is not None]
        assert sorted(i.number or 0 for i in issued) == list(range(1, recipe.matters - recipe.drafts + 1))
        assert all(i.issue_entry is not None and i.total_minor > 0 for i in issued)
        assert any(i.status == Invoice.Status.PAID for i in issued)
        assert any(i.status == Invoice.Status.PARTIALLY_PAID for i in issued)
        assert JournalLine.objects.count() > 0
    # Monthly totals recomputed from the lines, no unbalanced entry, the firm's audit chain intact. (A copy's
    # entries predate its own audit log, which begins at its onboarding: they are checked as a pruned log's are.)
    report = ledger_verify(tenant=tenant)
    assert report.ok, report.problems
    assert report.months_checked > 0


def _staff_page(tenant: Tenant) -> str:
    with tenant:
        admin = User.objects.filter(is_staff=True).order_by("pk").first()
        assert admin is not None
        domain = tenant.get_primary_domain()
        assert domain is not None
        client = Client(HTTP_HOST=domain.domain)
        client.force_login(admin)
    response = client.get("/staff/matters/")
    assert response.status_code == 200
    return response.content.decode()


def test_three_firms_with_their_rows_are_found_again_and_dropped(harness: None) -> None:
    first = many_firms.firms_ensure(3, prefix=PREFIX)

    assert [t.slug for t in first.firms] == SLUGS
    assert (first.onboarded, first.reused) == (3, 0)
    counts = many_firms.rows_counts([t.schema_name for t in first.firms])
    assert counts == {slug: many_firms.expected_counts() for slug in SLUGS}
    for tenant in first.firms:
        _check_rows(tenant)
        page = _staff_page(tenant)
        assert "2026-0001" in page
        assert "Client 0 Rivera" in page
    tenant_connection().set_schema_to_public()

    again = many_firms.firms_ensure(3, prefix=PREFIX)

    assert (again.onboarded, again.reused) == (0, 3)
    assert [t.pk for t in again.firms] == [t.pk for t in first.firms]

    with connection.cursor() as cursor:  # as a run killed between onboarding a firm and copying its rows leaves it
        cursor.execute('COMMENT ON SCHEMA "hx0002" IS NULL')
    repaired = many_firms.firms_ensure(3, prefix=PREFIX)

    assert (repaired.onboarded, repaired.reused) == (1, 2)
    assert repaired.notes == ["removed 1 unfinished or stale firms"]
    assert many_firms.rows_counts(["hx0002"]) == {"hx0002": many_firms.expected_counts()}
    with pytest.raises(many_firms.SetTooLarge, match="holds 3 firms of set 'hx', more than the 2 asked for"):
        many_firms.firms_ensure(2, prefix=PREFIX)

    assert many_firms.firms_drop(PREFIX) == 3

    assert not Tenant.objects.filter(slug__in=SLUGS).exists()
    assert all(_schema_comment(slug) is None for slug in SLUGS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = ANY(%s)", [SLUGS])
        assert cursor.fetchone()[0] == 0
