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

Unknown hosts are not cached (they would let anyone grow the cache); the cache
holds at most one entry per domain row.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass

from django.db import DatabaseError
from django.db.models import Subquery
from django_tenants.utils import get_public_schema_name

from tenants.db import tenant_connection
from tenants.models import Domain, RoutingVersion, Tenant


@dataclass(frozen=True)
class _Route:
    tenant: Tenant
    version: int


_routes: dict[str, _Route] = {}
_lock = threading.Lock()


def tenant_for_host(hostname: str) -> Tenant | None:
    """The tenant ``hostname`` routes to, with the connection set to its schema (None: no such host).

    The tenant returned is the caller's own copy: a request may annotate it.
    """
    route = _routes.get(hostname)
    if route is not None:
        try:
            version = _enter(route.tenant)
        except DatabaseError:
            version = None  # e.g. a broken connection: the slow path below says what is wrong
        if version == route.version:
            return copy.copy(route.tenant)
        with _lock:
            _routes.clear()
    return _lookup(hostname)


def _lookup(hostname: str) -> Tenant | None:
    """Read the host's tenant and the routing version in one statement (one snapshot), cache both, enter it."""
    connection = tenant_connection()
    connection.set_schema_to_public()
    version_now = RoutingVersion.objects.filter(pk=1).values("version")[:1]
    domain = (
        Domain.objects.select_related("tenant")
        .annotate(routing_version=Subquery(version_now))
        .filter(domain=hostname)
        .first()
    )
    if domain is None:
        return None
    tenant: Tenant = domain.tenant
    with _lock:
        _routes[hostname] = _Route(tenant=tenant, version=int(domain.routing_version))
    connection.set_tenant(tenant)
    return copy.copy(tenant)


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
    """Drop this process's cache (tests that rewrite routing rows outside a transaction may call it)."""
    with _lock:
        _routes.clear()
