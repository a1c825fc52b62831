"""`portico tenants create|list|show|suspend|resume|migrate|regions`: firms on the control plane."""

from __future__ import annotations

import time

import click

from tenants.cli.base import emit_json, fail, with_django


@click.command("create")
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
    """Onboard a firm in its region's cell: directory entry, schema (from the template), domain, keys, invited admin."""
    from tenants.onboarding import firm_onboard

    started = time.perf_counter()
    result = firm_onboard(
        slug=slug, name=name, region=region, admin_email=admin_email, admin_name=admin_name, plan=plan
    )
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json(
            {
                "slug": result.slug,
                "url": result.url,
                "admin_email": result.admin_email,
                "region": result.region,
                "cell": result.cell,
                "cloned_from_template": result.cloned,
                "seconds": round(elapsed, 3),
            }
        )
        return
    how = "cloned from the template" if result.cloned else "built by running migrations (no template)"
    click.echo(f"Created firm {result.slug} ({result.name}) in {result.region}, {how}, in {elapsed:.2f} s")
    click.echo(f"Cell:  {result.cell} (its database rows live there)")
    click.echo(f"URL:   {result.url}")
    click.echo(f"Admin: {result.admin_email} was emailed a link to set a password:")
    click.echo(f"       {result.invitation_link}")


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_django
def tenants_list(as_json: bool) -> None:
    """List every firm, with the cell its database rows live in."""
    from tenants.selectors import firm_list

    firms = firm_list()
    if as_json:
        emit_json(firms)
        return
    if not firms:
        click.echo("No firms yet. Create one with `portico tenants create`.")
        return
    widths = {"slug": 20, "status": 11, "region": 15, "cell": 10, "plan": 10}
    click.echo("".join(k.upper().ljust(w) for k, w in widths.items()) + "NAME")
    for firm in firms:
        click.echo("".join(str(firm[k]).ljust(w) for k, w in widths.items()) + firm["name"])


@click.command("show")
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


@click.command("suspend")
@click.argument("slug")
@with_django
def tenants_suspend(slug: str) -> None:
    """Suspend a firm: its site shows "account suspended" and its API answers 403."""
    _set_status(slug, "suspended", "suspended")


@click.command("resume")
@click.argument("slug")
@with_django
def tenants_resume(slug: str) -> None:
    """Resume a suspended firm."""
    _set_status(slug, "active", "resumed")


@click.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def tenants_migrate(as_json: bool) -> None:
    """Bring public, the template and every firm up to date (schemas already current are skipped)."""
    from tenants.migrate import migrate_all

    started = time.perf_counter()

    def progress(index: int, total: int, schema: str, outcome: str) -> None:
        if not as_json:
            position = f"[{index}/{total}] " if total else ""
            eta = ""
            if total and 0 < index < total and outcome != "up to date":
                left = (time.perf_counter() - started) / index * (total - index)
                eta = f" (about {left:.0f} s left)"
            click.echo(f"{position}{schema}: {outcome}{eta}", err=True)

    report = migrate_all(progress=progress)
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json(
            {
                "migrated": report.migrated,
                "up_to_date": report.up_to_date,
                "problems": report.problems,
                "failed": report.failed,
                "seconds": round(elapsed, 3),
            }
        )
    else:
        migrated, current = len(report.migrated), len(report.up_to_date)
        click.echo(f"{migrated} schema(s) migrated, {current} already up to date, in {elapsed:.2f} s")
    if report.failed:
        for schema, error in report.failed.items():
            click.echo(f"failed: {schema}: {error}", err=True)
        fail(f"{len(report.failed)} firm(s) not migrated (each rolled back whole; run the command again to retry)")
    if report.problems:
        for problem in report.problems[1:]:
            click.echo(f"problem: {problem}", err=True)
        fail(f"{len(report.problems)} schema problem(s), firms affected are not served: {report.problems[0]}")


@click.command("regions")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def tenants_regions(as_json: bool) -> None:
    """List the regions a firm can be placed in, with the cell each one's firms live in."""
    from django.core.exceptions import ImproperlyConfigured

    from residency.regions import registry

    try:
        regions = [{"code": r.code, "name": r.name, "cell": r.cell} for r in registry().values()]
    except ImproperlyConfigured as exc:
        fail(f"configuration: {exc}")
    if as_json:
        emit_json(regions)
        return
    for region in regions:
        click.echo(f"{region['code']:<16}{region['name']:<28}cell {region['cell']}")
