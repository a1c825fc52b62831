"""The two firms every test run has, and how tests reach their sites.

``acme`` (firm A, eu-central-1, admin alice) and ``globex`` (firm B,
us-east-1, admin bob) are onboarded through the real ``tenant_create`` when the
run's template database is built (``tests.support.database``). Tests reach a
firm's site through a Django test client whose Host header is the firm's
domain (``Firm.client``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections
from django.test import Client

from core.models import User
from tenants.models import Tenant

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class FirmSpec:
    slug: str
    name: str
    region: str
    admin_email: str


FIRM_A = FirmSpec("acme", "Acme Immigration LLP", "eu-central-1", "alice@acme.test")
FIRM_B = FirmSpec("globex", "Globex Visa Partners", "us-east-1", "bob@globex.test")


@dataclass
class Firm:
    tenant: Tenant
    host: str
    admin: User

    def client(self, user: User | None = None) -> Client:
        client = Client(HTTP_HOST=self.host)
        if user is not None:
            with self.tenant:
                client.force_login(user)
        return client


def firm_onboard(spec: FirmSpec) -> None:
    """Onboard the firm as vendor ops would, and give its admin the tests' password."""
    from tenants.services import tenant_create

    result = tenant_create(slug=spec.slug, name=spec.name, region=spec.region, admin_email=spec.admin_email)
    with result.tenant:
        admin = User.objects.get(email=spec.admin_email)
        admin.set_password(PASSWORD)
        admin.save()


def firm_load(spec: FirmSpec) -> Firm:
    tenant = Tenant.objects.get(slug=spec.slug)
    with tenant:
        admin = User.objects.get(email=spec.admin_email)
    return Firm(tenant=tenant, host=f"{spec.slug}.localhost", admin=admin)


def _firm_remove(slug: str) -> None:
    from tenants.db import tenant_connection

    tenant_connection().set_schema_to_public()
    Tenant.objects.filter(slug=slug).delete()  # domains, anchors and keys go with it
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')


@contextmanager
def committed_firm(spec: FirmSpec, django_db_blocker: Any) -> Iterator[Tenant]:
    """A firm of the test's own, onboarded and committed (other threads, processes and workers see it), then removed.

    For tests that must commit: the run's two firms stay as the template has them. One left behind by a
    test that was killed is removed first.
    """
    from kms import signing
    from tenants.services import tenant_create

    with django_db_blocker.unblock():
        _firm_remove(spec.slug)
        signing.forget_cached_key()
        result = tenant_create(slug=spec.slug, name=spec.name, region=spec.region, admin_email=spec.admin_email)
        try:
            yield result.tenant
        finally:
            connections.close_all()  # the test's threads' connections, which would hold the schema open
            signing.forget_cached_key()
            _firm_remove(spec.slug)
