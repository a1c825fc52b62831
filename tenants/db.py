"""The default database connection, typed as django-tenants' schema-aware wrapper."""

from __future__ import annotations

from typing import cast

from django.db import connection
from django_tenants.postgresql_backend.base import DatabaseWrapper


def tenant_connection() -> DatabaseWrapper:
    return cast(DatabaseWrapper, connection)


def current_schema() -> str:
    return str(tenant_connection().schema_name)
