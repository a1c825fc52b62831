"""A suspended firm gets an "account suspended" page, a 403 from the API, and no data.

The firms are session fixtures committed once; each test here runs inside the
``db`` fixture's transaction, so a suspension is rolled back when the test ends
(test_suspension_in_a_test_is_never_committed checks that), and the fixture
resumes the firm as well in case a test ever runs outside that transaction.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenants.models import Tenant
from tenants.services import tenant_set_status
from tests.support.database import subprocess_database_url
from tests.support.firms import PASSWORD, Firm


@pytest.fixture
def alice_signed_in(firm_a: Firm) -> Client:
    return firm_a.client(firm_a.admin)


@pytest.fixture
def suspended_a(firm_a: Firm, alice_signed_in: Client) -> Iterator[Firm]:
    _, changed = tenant_set_status(slug="acme", status=Tenant.Status.SUSPENDED)
    assert changed
    try:
        yield firm_a
    finally:
        with schema_context("public"):  # a request leaves the connection in the last firm's schema
            tenant_set_status(slug="acme", status=Tenant.Status.ACTIVE)


def test_suspended_firm_shows_the_account_suspended_page(suspended_a: Firm) -> None:
    for path in ("/", "/accounts/login/", "/no/such/page/"):
        response = suspended_a.client().get(path)
        assert response.status_code == 403, path
        assert b"Account suspended" in response.content
        assert b"The Portico account of Acme Immigration LLP is suspended." in response.content


def test_suspended_firms_api_answers_json_403(suspended_a: Firm, alice_signed_in: Client) -> None:
    for client in (suspended_a.client(), alice_signed_in):
        response = client.get("/api/v1/me")
        assert response.status_code == 403
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "error": {"code": "firm_suspended", "message": "This firm's account is suspended.", "fields": {}}
        }


def test_signed_in_user_of_a_suspended_firm_sees_no_data(suspended_a: Firm, alice_signed_in: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        home = alice_signed_in.get("/")
        me = alice_signed_in.get("/api/v1/me")

    for response in (home, me):
        assert response.status_code == 403
        assert b"alice@acme.test" not in response.content
    tables_read = " ".join(query["sql"] for query in queries.captured_queries)
    assert "django_session" not in tables_read
    assert "core_user" not in tables_read


def test_suspended_firm_refuses_sign_in(suspended_a: Firm) -> None:
    client = suspended_a.client()

    response = client.post("/accounts/login/", {"username": "alice@acme.test", "password": PASSWORD})

    assert response.status_code == 403
    assert "sessionid" not in response.cookies


def test_other_firm_is_unaffected_by_a_suspension(suspended_a: Firm, firm_b: Firm) -> None:
    bob = firm_b.client(firm_b.admin)

    home = bob.get("/")
    me = bob.get("/api/v1/me")

    assert home.status_code == 200
    assert b"bob@globex.test" in home.content
    assert me.status_code == 200
    assert me.json()["email"] == "bob@globex.test"


def test_a_session_from_before_a_suspension_does_not_work_after_resume(
    suspended_a: Firm, alice_signed_in: Client
) -> None:
    """Suspending ends the firm's sessions: whoever held one signs in again once the firm is back."""
    assert alice_signed_in.get("/").status_code == 403

    _, changed = tenant_set_status(slug="acme", status=Tenant.Status.ACTIVE)

    assert changed
    home = alice_signed_in.get("/")
    me = alice_signed_in.get("/api/v1/me")
    assert b"alice@acme.test" not in home.content
    assert me.status_code in (401, 403)
    again = suspended_a.client(suspended_a.admin)  # signing in again works
    assert b"alice@acme.test" in again.get("/").content


def test_suspending_leaves_other_firms_sessions_alone(suspended_a: Firm, firm_b: Firm) -> None:
    bob = firm_b.client(firm_b.admin)
    tenant_set_status(slug="acme", status=Tenant.Status.ACTIVE)
    tenant_set_status(slug="acme", status=Tenant.Status.SUSPENDED)

    assert bob.get("/api/v1/me").json()["email"] == "bob@globex.test"


def test_offboarding_firm_serves_no_data_either(firm_a: Firm, alice_signed_in: Client) -> None:
    Tenant.objects.filter(slug="acme").update(status=Tenant.Status.OFFBOARDING)

    home = alice_signed_in.get("/")
    me = alice_signed_in.get("/api/v1/me")

    assert home.status_code == 403
    assert b"Account suspended" in home.content
    assert me.status_code == 403
    assert b"alice@acme.test" not in home.content + me.content


def test_suspension_in_a_test_is_never_committed(suspended_a: Firm) -> None:
    """Another connection still sees the firm active, so the test's rollback restores it."""
    with psycopg.connect(subprocess_database_url()) as other:
        row = other.execute("SELECT status FROM public.tenants_tenant WHERE slug = 'acme'").fetchone()

    assert Tenant.objects.get(slug="acme").status == Tenant.Status.SUSPENDED
    assert row == ("active",)
