"""Reads on the control plane, shaped for the CLI's text and JSON output."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from residency.cells import this_cell
from residency.regions import UnknownRegion, get_region
from tenants.db import tenant_connection
from tenants.directory import directory_entries
from tenants.models import FirmDirectory, Tenant
from tenants.schema_state import pending_migrations
from tenants.services import firm_get, firm_url


def _cell_of(tenant: Tenant, directory: dict[str, FirmDirectory]) -> str:
    """The firm's cell: its directory entry's, or (a firm onboarded before the directory) its region's."""
    entry = directory.get(tenant.slug)
    if entry is not None:
        return entry.cell
    try:
        return get_region(tenant.region).cell
    except UnknownRegion:
        return this_cell().name


def _summary(tenant: Tenant, cell: str) -> dict[str, Any]:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "region": tenant.region,
        "cell": cell,
        "plan": tenant.plan,
        "status": tenant.status,
        "created": tenant.created.isoformat(),
        "url": firm_url(tenant.slug),
    }


def firm_list() -> list[dict[str, Any]]:
    """This cell's firms, and those of the other cells from the control-plane directory.

    A firm in another cell is listed without its name (the directory holds none).
    """
    directory = {entry.slug: entry for entry in directory_entries()}
    here = this_cell().name
    firms = {t.slug: _summary(t, _cell_of(t, directory)) for t in Tenant.objects.filter(kind=Tenant.Kind.FIRM)}
    for slug, entry in directory.items():
        if slug not in firms and entry.cell != here:
            firms[slug] = {
                "slug": slug, "name": "", "region": entry.region, "cell": entry.cell, "plan": entry.plan,
                "status": entry.status, "created": entry.created.isoformat(), "url": firm_url(slug),
            }  # fmt: skip
    return [firms[slug] for slug in sorted(firms)]


def firm_detail(slug: str) -> dict[str, Any]:
    from core.models import User

    tenant = firm_get(slug)
    with schema_context(tenant.schema_name):
        users = User.objects.count()
        staff = User.objects.filter(is_staff=True).count()
    tenant_connection().set_schema_to_public()
    return {
        **_summary(tenant, _cell_of(tenant, {e.slug: e for e in directory_entries() if e.slug == slug})),
        "schema": tenant.schema_name,
        "domains": sorted(tenant.domains.values_list("domain", flat=True)),
        "status_changed": tenant.status_changed.isoformat() if tenant.status_changed else None,
        "users": users,
        "staff_users": staff,
        "migrations_pending": len(pending_migrations([tenant.schema_name]).get(tenant.schema_name, ())),
    }
