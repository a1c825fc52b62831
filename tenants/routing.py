"""Host → firm routing, cached per process, never stale by one request.

Without a cache every request asks public for its host's domain row and sets
``search_path`` twice (to public for that lookup, then to the firm). Here each
process keeps the firms it has served, by host name, with the routing version
they were read under (``tenants.models.RoutingVersion``: triggers give it a
fresh value in the same transaction as any change to a tenant or domain row).
A request for a cached host costs one statement, which sets the firm's
``search_path`` and reads the current version together; if the version moved
(a suspension, an offboarding, a domain added or removed, in any process), the
whole cache is dropped and the host looked up again. So a change takes effect
on the next request in every process, and routing costs one round trip
however many firms there are.

Celery tasks enter their firm the same way, by the schema name they carry
(``tenant_for_schema``). Unknown hosts are not cached (they would let anyone
grow the cache); the cache holds at most one entry per domain row and per firm.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.db.models import QuerySet, Subquery
from django_tenants.utils import get_public_schema_name

from tenants.db import tenant_connection
from tenants.models import Domain, RoutingVersion, Tenant


@dataclass(frozen=True)
class _Route:
    tenant: Tenant
    version: int


_routes: dict[str, _Route] = {}  # by host name (web requests)
_schemas: dict[str, _Route] = {}  # by schema name (Celery tasks, which carry their firm's schema)
_lock = threading.Lock()


def tenant_for_host(hostname: str) -> Tenant | None:
    """The tenant ``hostname`` routes to, with the connection set to its schema (None: no such host).

    The tenant returned is the caller's own copy: a request may annotate it.
    """
    route = _routes.get(hostname)
    if route is not None:
        tenant = copy.copy(route.tenant)  # the caller's own: a request or task may annotate it
        try:
            version = _enter(tenant)
        except DatabaseError:
            version = None  # e.g. a broken connection: the slow path below says what is wrong
        if version == route.version:
            return tenant
        routing_forget()
    return _lookup(hostname)


def tenant_for_schema(schema_name: str) -> Tenant:
    """The tenant of ``schema_name``, with the connection set to it: how a Celery task enters its firm.

    Cached and checked like host names (one statement per task); ``Tenant.DoesNotExist``
    for a schema no tenant has.
    """
    route = _schemas.get(schema_name)
    if route is not None:
        tenant = copy.copy(route.tenant)
        try:
            version = _enter(tenant)
        except DatabaseError:
            version = None
        if version == route.version:
            return tenant
        routing_forget()
    connection = tenant_connection()
    connection.set_schema_to_public()
    tenant = Tenant.objects.annotate(routing_version=Subquery(_version_now())).get(schema_name=schema_name)
    with _lock:
        _schemas[schema_name] = _Route(tenant=copy.copy(tenant), version=int(tenant.routing_version))
    connection.set_tenant(tenant)
    return tenant


def _version_now() -> QuerySet[RoutingVersion, Any]:
    return RoutingVersion.objects.filter(pk=1).values("version")[:1]


def _lookup(hostname: str) -> Tenant | None:
    """Read the host's tenant and the routing version in one statement (one snapshot), cache both, enter it."""
    connection = tenant_connection()
    connection.set_schema_to_public()
    domain = (
        Domain.objects.select_related("tenant")
        .annotate(routing_version=Subquery(_version_now()))
        .filter(domain=hostname)
        .first()
    )
    if domain is None:
        return None
    tenant: Tenant = domain.tenant
    with _lock:
        _routes[hostname] = _Route(tenant=copy.copy(tenant), version=int(domain.routing_version))
    connection.set_tenant(tenant)
    return tenant


def _enter(tenant: Tenant) -> int | None:
    """Set the connection to ``tenant``'s schema and read the routing version, in one statement."""
    connection = tenant_connection()
    connection.set_tenant(tenant)
    # django-tenants would issue its own SET on the next cursor; this statement carries it instead.
    paths = connection._get_cursor_search_paths()
    connection.search_path_set_schemas = paths
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('search_path', %s, false), "  # noqa: S608 - a quoted schema name from settings
                f"(SELECT version FROM {_quote(get_public_schema_name())}.tenants_routingversion WHERE id = 1)",
                [", ".join(_quote(path) for path in paths)],
            )
            row = cursor.fetchone()
    except BaseException:
        connection.search_path_set_schemas = None
        raise
    return None if row is None else int(row[1])


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def routing_forget() -> None:
    """Drop this process's cache: the routing version moved."""
    with _lock:
        _routes.clear()
        _schemas.clear()
