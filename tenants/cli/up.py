"""`portico up`: Portico on this machine (``tenants.dev.up``)."""

from __future__ import annotations

import sys

import click


@click.command("up")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Web port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web app listens on.")
def up(port: int, host: str) -> None:
    """Run Portico on this machine: database, migrations, demo firm, web app, worker and scheduler.

    Without DATABASE_URL an embedded PostgreSQL keeps its data under var/
    (PORTICO_VAR_DIR); without REDIS_URL background jobs go through files under
    var/broker. Prints the URLs and the demo logins; Ctrl-C stops everything.
    """
    from tenants.dev.up import run

    sys.exit(run(host=host, port=port))
