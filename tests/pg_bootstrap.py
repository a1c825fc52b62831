"""pytest plugin, loaded before Django: give the test run a PostgreSQL.

With DATABASE_URL set (CI points it at 127.0.0.1:5432) that server is used;
otherwise the embedded PostgreSQL 18 is started under ``var/test-pg`` so that
the suite runs on a machine that has nothing but Python.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings_test")
os.environ.setdefault("PORTICO_ENV", "test")

if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("PORTICO_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
    from tenants.dev.embedded_db import ensure_database_url

    ensure_database_url()
