"""Reads on the control plane, shaped for the CLI's text and JSON output."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from tenants.db import tenant_connection
from tenants.models import Tenant
from tenants.schema_state import pending_migrations
from tenants.services import firm_get, firm_url


def _summary(tenant: Tenant) -> dict[str, Any]:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "region": tenant.region,
        "plan": tenant.plan,
        "status": tenant.status,
        "created": tenant.created.isoformat(),
        "url": firm_url(tenant.slug),
    }


def firm_list() -> list[dict[str, Any]]:
    return [_summary(t) for t in Tenant.objects.filter(kind=Tenant.Kind.FIRM).order_by("slug")]


def firm_detail(slug: str) -> dict[str, Any]:
    from core.models import User

    tenant = firm_get(slug)
    with schema_context(tenant.schema_name):
        users = User.objects.count()
        staff = User.objects.filter(is_staff=True).count()
    tenant_connection().set_schema_to_public()
    return {
        **_summary(tenant),
        "schema": tenant.schema_name,
        "domains": sorted(tenant.domains.values_list("domain", flat=True)),
        "status_changed": tenant.status_changed.isoformat() if tenant.status_changed else None,
        "users": users,
        "staff_users": staff,
        "migrations_pending": len(pending_migrations([tenant.schema_name]).get(tenant.schema_name, ())),
    }
