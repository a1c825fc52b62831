"""Host → firm routing is cached per process and never stale (tenants.routing; issue 17 item 2).

The cross-process half (a change committed by one process, seen by gunicorn's
workers on their next request) is in tests/test_proxy.py, which runs the real
web processes; here, in one process, what a request costs and what a rolled-back
change leaves behind.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.celery import app as celery_app
from tenants.current import current_firm
from tenants.db import tenant_connection
from tenants.models import Domain, RoutingVersion, Tenant
from tests.support.firms import Firm

pytestmark = pytest.mark.django_db


def _login_page(host: str) -> tuple[int, str]:
    response = Client(HTTP_HOST=host).get("/accounts/login/")
    return response.status_code, response.content.decode()


def test_a_known_host_costs_one_statement_that_sets_the_schema_and_reads_the_routing_version(firm_a: Firm) -> None:
    client = firm_a.client()
    client.get("/accounts/login/")  # this process has now served the host
    with CaptureQueriesContext(connection) as seen:
        response = client.get("/accounts/login/")

    routing = [q["sql"] for q in seen.captured_queries if "search_path" in q["sql"] or "tenants_" in q["sql"]]
    assert response.status_code == 200
    assert len(routing) == 1
    assert routing[0].startswith("SELECT set_config('search_path', '\"acme\", \"public\"', false)")
    assert "tenants_routingversion" in routing[0]


def test_every_change_to_a_tenant_or_domain_row_gives_the_routing_a_new_version(firm_a: Firm) -> None:
    tenant_connection().set_schema_to_public()
    seen = [RoutingVersion.objects.get().version]
    Domain.objects.create(domain="acme-new.localhost", tenant=firm_a.tenant, is_primary=False)
    seen.append(RoutingVersion.objects.get().version)
    Tenant.objects.filter(pk=firm_a.tenant.pk).update(name="Acme Immigration LLP (renamed)")
    seen.append(RoutingVersion.objects.get().version)
    Domain.objects.filter(domain="acme-new.localhost").delete()
    seen.append(RoutingVersion.objects.get().version)

    assert len(set(seen)) == 4


def test_a_rolled_back_domain_leaves_no_route_behind_and_its_version_is_never_reused(
    firm_a: Firm, firm_b: Firm
) -> None:
    """A version is a fresh sequence value: a later change cannot take the rolled-back one and revive its route."""
    host = "borrowed.localhost"
    tenant_connection().set_schema_to_public()
    savepoint = transaction.savepoint()
    Domain.objects.create(domain=host, tenant=firm_a.tenant, is_primary=False)
    during = _login_page(host)  # cached in this process for firm A
    transaction.savepoint_rollback(savepoint)
    after_rollback = _login_page(host)
    tenant_connection().set_schema_to_public()
    Domain.objects.create(domain=host, tenant=firm_b.tenant, is_primary=False)
    reassigned = _login_page(host)

    assert during[0] == 200
    assert "<strong>Acme Immigration LLP</strong>" in during[1]
    assert after_rollback[0] == 404
    assert "There is nothing at this address." in after_rollback[1]
    assert reassigned[0] == 200
    assert "<strong>Globex Visa Partners</strong>" in reassigned[1]
    assert "Acme" not in reassigned[1]


@celery_app.task(name="tests.test_routing_cache.firm_name")
def firm_name() -> str:
    return current_firm().name


def _run_in(schema: str) -> tuple[str, list[str]]:
    """Run ``firm_name`` as a worker runs a message stamped with ``schema`` (from public, as after a task)."""
    tenant_connection().set_schema_to_public()
    with CaptureQueriesContext(connection) as seen:
        result = firm_name.apply(headers={"_schema_name": schema}).get()
    return result, [q["sql"] for q in seen.captured_queries]


def test_a_task_enters_its_firm_in_one_statement_and_sees_a_change_to_the_firm_at_once(firm_a: Firm) -> None:
    _run_in("acme")  # this process has now entered the firm once
    name, statements = _run_in("acme")
    tenant_connection().set_schema_to_public()
    Tenant.objects.filter(schema_name="acme").update(name="Acme Immigration LLP (renamed)")
    renamed, _statements = _run_in("acme")

    assert name == "Acme Immigration LLP"
    assert len(statements) == 1
    assert statements[0].startswith("SELECT set_config('search_path', '\"acme\", \"public\"', false)")
    assert renamed == "Acme Immigration LLP (renamed)"
