"""`portico`: the vendor CLI (console script).

Exit codes: 0 success, 1 failure (e.g. a duplicate slug, an unknown firm),
2 usage error (bad option or bad input such as an invalid slug, unknown region
or bad email). Errors are one line on stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def setup_django() -> None:
    """Point Django at a database (the embedded one unless DATABASE_URL is set) and load it."""
    from tenants.embedded_db import ensure_database_url

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    ensure_database_url()
    import django

    django.setup()


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def first_line(exc: BaseException) -> str:
    """An exception as one line: database errors carry DETAIL and HINT lines after the message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def with_django(func: F) -> F:
    """Load Django first, and turn every error into one line on stderr and an exit code.

    An unexpected error (database down, email server refusing) exits 1 with its
    first line; PORTICO_DEBUG_CLI=1 lets the traceback through instead.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from django.core.exceptions import ImproperlyConfigured

        try:
            setup_django()
        except ImproperlyConfigured as exc:
            fail(f"configuration: {exc}")
        from tenants.services import TenantError, TenantInputError

        try:
            return func(*args, **kwargs)
        except TenantInputError as exc:
            fail(str(exc), code=2)
        except TenantError as exc:
            fail(str(exc))
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as exc:
            if os.environ.get("PORTICO_DEBUG_CLI"):
                raise
            fail(f"{first_line(exc)} (PORTICO_DEBUG_CLI=1 shows the traceback)")

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Portico vendor operations: onboard and run law firms (tenants)."""


@main.group()
def tenants() -> None:
    """Create, inspect, suspend and migrate firms."""


@tenants.command("create")
@click.option("--slug", required=True, help="Subdomain and schema name, e.g. acme.")
@click.option("--name", required=True, help='The firm\'s name, e.g. "Acme Immigration LLP".')
@click.option("--region", required=True, help="Where the firm's data lives (see `portico tenants regions`).")
@click.option("--admin-email", required=True, help="The firm admin, who is emailed a set-password link.")
@click.option("--admin-name", default="", help="The firm admin's full name.")
@click.option("--plan", default="standard", show_default=True, help="trial, standard or enterprise.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_django
def tenants_create(
    slug: str, name: str, region: str, admin_email: str, admin_name: str, plan: str, as_json: bool
) -> None:
    """Onboard a firm: schema (cloned from the template), domain, roles, invited admin."""
    from tenants.services import tenant_create

    started = time.perf_counter()
    result = tenant_create(
        slug=slug, name=name, region=region, admin_email=admin_email, admin_name=admin_name, plan=plan
    )
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json(
            {
                "slug": result.tenant.slug,
                "url": result.url,
                "admin_email": result.admin_email,
                "region": result.tenant.region,
                "cloned_from_template": result.cloned,
                "seconds": round(elapsed, 3),
            }
        )
        return
    how = "cloned from the template" if result.cloned else "built by running migrations (no template)"
    click.echo(
        f"Created firm {result.tenant.slug} ({result.tenant.name}) in {result.tenant.region}, {how}, in {elapsed:.2f} s"
    )
    click.echo(f"URL:   {result.url}")
    click.echo(f"Admin: {result.admin_email} was emailed a link to set a password:")
    click.echo(f"       {result.invitation_link}")


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_django
def tenants_list(as_json: bool) -> None:
    """List every firm."""
    from tenants.selectors import firm_list

    firms = firm_list()
    if as_json:
        emit_json(firms)
        return
    if not firms:
        click.echo("No firms yet. Create one with `portico tenants create`.")
        return
    widths = {"slug": 20, "status": 11, "region": 15, "plan": 10}
    click.echo("".join(k.upper().ljust(w) for k, w in widths.items()) + "NAME")
    for firm in firms:
        click.echo("".join(str(firm[k]).ljust(w) for k, w in widths.items()) + firm["name"])


@tenants.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_django
def tenants_show(slug: str, as_json: bool) -> None:
    """Show one firm."""
    from tenants.selectors import firm_detail

    detail = firm_detail(slug)
    if as_json:
        emit_json(detail)
        return
    for key, value in detail.items():
        click.echo(f"{key.replace('_', ' ') + ':':<22}{value}")


def _set_status(slug: str, status: str, verb: str) -> None:
    from tenants.services import tenant_set_status

    tenant, changed = tenant_set_status(slug=slug, status=status)
    click.echo(f"{tenant.slug} {verb}" if changed else f"{tenant.slug} was already {status}")


@tenants.command("suspend")
@click.argument("slug")
@with_django
def tenants_suspend(slug: str) -> None:
    """Suspend a firm: its site shows "account suspended" and its API answers 403."""
    _set_status(slug, "suspended", "suspended")


@tenants.command("resume")
@click.argument("slug")
@with_django
def tenants_resume(slug: str) -> None:
    """Resume a suspended firm."""
    _set_status(slug, "active", "resumed")


@tenants.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def tenants_migrate(as_json: bool) -> None:
    """Bring public, the template and every firm up to date (schemas already current are skipped)."""
    from tenants.migrate import migrate_all

    def progress(index: int, total: int, schema: str, outcome: str) -> None:
        if not as_json:
            position = f"[{index}/{total}] " if total else ""
            click.echo(f"{position}{schema}: {outcome}", err=True)

    started = time.perf_counter()
    report = migrate_all(progress=progress)
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json({"migrated": report.migrated, "up_to_date": report.up_to_date, "seconds": round(elapsed, 3)})
    else:
        migrated, current = len(report.migrated), len(report.up_to_date)
        click.echo(f"{migrated} schema(s) migrated, {current} already up to date, in {elapsed:.2f} s")


@tenants.command("regions")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def tenants_regions(as_json: bool) -> None:
    """List the regions a firm can be placed in."""
    from django.core.exceptions import ImproperlyConfigured

    from residency.regions import registry

    try:
        regions = [{"code": r.code, "name": r.name} for r in registry().values()]
    except ImproperlyConfigured as exc:
        fail(f"configuration: {exc}")
    if as_json:
        emit_json(regions)
        return
    for region in regions:
        click.echo(f"{region['code']:<16}{region['name']}")


@main.command("up")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Web port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web app listens on.")
def up(port: int, host: str) -> None:
    """Run Portico on this machine: database, migrations, demo firm, web app, worker and scheduler.

    Without DATABASE_URL an embedded PostgreSQL keeps its data under var/
    (PORTICO_VAR_DIR); without REDIS_URL background jobs go through files under
    var/broker. Prints the URLs and the demo logins; Ctrl-C stops everything.
    """
    from tenants.up import run

    sys.exit(run(host=host, port=port))


@main.command("manage", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command against Portico's database."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["portico manage", *args])


@main.group()
def ledger() -> None:
    """Check firms' double-entry ledgers."""


@ledger.command("verify")
@click.option("--tenant", "slug", required=True, help="The firm's slug, e.g. acme.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def ledger_verify_command(slug: str, as_json: bool) -> None:
    """Recompute monthly totals from the lines and hold the journal against the audit log.

    Exits 0 when intact, 1 naming the first bad account and month (or entry).
    """
    from billing.ledger.verify import ledger_verify
    from tenants.services import firm_get

    report = ledger_verify(tenant=firm_get(slug))
    if as_json:
        emit_json(report.as_dict())
        if not report.ok:
            raise click.exceptions.Exit(1)
        return
    if not report.ok:
        fail(f"ledger of {slug} is NOT intact: {report.problems[0].message} ({len(report.problems)} problem(s))")
    click.echo(f"ledger of {slug} is intact: {report.entries_checked} entries, {report.months_checked} monthly totals")


# Verbs owned by other packages register themselves on import; they use this
# module's helpers, so they come last.
import core.audit.cli  # noqa: E402,F401  (`audit verify|export|check-export|anchor|prune`)
import kms.cli  # noqa: E402,F401  (`tenants rotate-keys`)
import residency.cli  # noqa: E402,F401  (`tenants export|offboard`, `residency report`)
from core import erasure_cli  # noqa: E402,F401  (`tenants erase-client`)

if __name__ == "__main__":
    main()
