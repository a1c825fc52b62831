"""Starting a Portico process from the command line: Django loaded on a database, errors as one line.

The database is the embedded one (``tenants.dev.embedded_db``) unless
DATABASE_URL is set. Used by the vendor CLI (``tenants.cli``) and by
``portico up`` (``tenants.dev.up``), which sits below the CLI.
"""

from __future__ import annotations

import os


def setup_django() -> None:
    """Point Django at a database (the embedded one unless DATABASE_URL is set) and load it."""
    from tenants.dev.embedded_db import ensure_database_url

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    ensure_database_url()
    import django

    django.setup()


def first_line(exc: BaseException) -> str:
    """An exception as one line: database errors carry DETAIL and HINT lines after the message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
