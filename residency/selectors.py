"""The residency report: per firm, where its rows, files and keys live, as the storage itself reports it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Sum
from psycopg import sql

from kms.models import KeyEncryptionKey
from residency.backends import placement
from residency.errors import ResidencyError
from residency.export import schema_tables
from residency.models import StoredObject
from residency.regions import UnknownRegion
from tenants.models import Tenant


def _row_count(schema: str) -> int:
    tables = schema_tables(schema)
    if not tables:
        return 0
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(schema, table)) for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT coalesce(sum(n), 0) FROM ({}) AS counts").format(counts))
        return int(cursor.fetchone()[0])


def _keys(tenant: Tenant) -> list[dict[str, Any]]:
    return [
        {
            "class": kek.key_class,
            "version": kek.version,
            "primary": kek.is_primary,
            "provider": kek.provider,
            "region": kek.region,
            "key_id": kek.key_id,
        }
        for kek in KeyEncryptionKey.objects.filter(tenant=tenant).order_by("key_class", "version")
    ]


def firm_residency(tenant: Tenant) -> dict[str, Any]:
    entry: dict[str, Any] = {"slug": tenant.slug, "region": tenant.region, "status": tenant.status, "problems": []}
    entry["keys"] = _keys(tenant)
    if any(key["region"] != tenant.region for key in entry["keys"]):
        entry["problems"].append("a key lives outside the firm's region")
    with tenant:
        entry["rows"] = _row_count(tenant.schema_name)
        inventory = StoredObject.objects.aggregate(bytes=Sum("size"))
        entry["objects"] = StoredObject.objects.count()
        entry["bytes"] = int(inventory["bytes"] or 0)
        outside = StoredObject.objects.exclude(region=tenant.region).count()
    if outside:
        entry["problems"].append(f"{outside} objects are recorded outside the firm's region")
    try:
        place = placement(tenant)
        entry["storage"] = {"backend": place.backend, "location": place.location}
        entry["storage"]["actual_region"] = place.actual_location()
        entry["storage"]["stored_objects"], entry["storage"]["stored_bytes"] = place.usage()
    except (UnknownRegion, ImproperlyConfigured, ResidencyError) as exc:
        entry.setdefault("storage", {})["error"] = str(exc)
        entry["problems"].append(str(exc))
    else:
        if entry["storage"]["actual_region"] != tenant.region:
            entry["problems"].append(f"storage is in {entry['storage']['actual_region']}, not {tenant.region}")
    return entry


def residency_report() -> list[dict[str, Any]]:
    return [firm_residency(tenant) for tenant in Tenant.objects.filter(kind=Tenant.Kind.FIRM).order_by("slug")]
