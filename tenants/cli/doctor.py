"""`portico doctor`: check a deployment from where it runs (``tenants.ops.doctor``)."""

from __future__ import annotations

import click

from tenants.cli.base import emit_json, with_django

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@click.command("doctor")
@click.option(
    "--url", default=None, help="The firms' HTTPS address through the proxy, e.g. https://acme.portico.example/."
)
@click.option("--address", default=None, help="Connect to this address instead of resolving the URL's host.")
@click.option(
    "--http-port", default=80, show_default=True, help="The proxy's plain-HTTP port (for the redirect check)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_django
def doctor(url: str | None, address: str | None, http_port: int, as_json: bool) -> None:
    """Check settings, database, pooler, broker and workers, cache, storage, keys, ClamAV and the proxy.

    Exits 0 when nothing failed (warnings allowed), 1 otherwise.
    """
    from tenants.ops.doctor import FAIL
    from tenants.ops.doctor import doctor as run_checks

    checks = run_checks(url=url, address=address, http_port=http_port)
    failed = [check for check in checks if check.status == FAIL]
    if as_json:
        emit_json({"ok": not failed, "checks": [check.as_dict() for check in checks]})
    else:
        width = max(len(check.name) for check in checks)
        for check in checks:
            click.echo(f"{_MARK[check.status]}  {check.name:<{width}}  {check.detail}")
        click.echo(
            f"{len(failed)} failed"
            if failed
            else "all checks passed" + (" (with warnings)" if any(c.status == "warn" for c in checks) else "")
        )
    if failed:
        raise click.exceptions.Exit(1)
