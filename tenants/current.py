"""The firm a database connection is set to (``with tenant:`` or ``schema_context``).

Beside ``tenants.db``: the control-plane base that every package may import.
Encrypted fields, stored files and audit anchors all belong to one firm, and
ask here which one; outside a firm's schema (public, the template) they refuse
with ``NoFirmSelected`` rather than guess.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from tenants.models import Tenant


class NoFirmSelected(RuntimeError):
    """The work belongs to a firm, but no firm's schema is active on the connection (use ``with tenant:``)."""


def current_firm(connection: BaseDatabaseWrapper | None = None) -> Tenant:
    """The firm ``connection`` (default: Django's) is set to; ``NoFirmSelected`` on public or the template."""
    from django.db import connection as default_connection

    conn: Any = connection or default_connection
    tenant = getattr(conn, "tenant", None)
    if isinstance(tenant, Tenant) and tenant.pk is not None and tenant.kind == Tenant.Kind.FIRM:
        return tenant
    # Entered through schema_context (a FakeTenant), or a tenant object without its row: look it up.
    schema = getattr(conn, "schema_name", None)
    firm = Tenant.objects.filter(schema_name=schema, kind=Tenant.Kind.FIRM).first() if schema else None
    if firm is None:
        raise NoFirmSelected(f"this belongs to a firm, but the connection is on schema {schema!r}")
    return firm
