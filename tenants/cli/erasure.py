"""`portico tenants erase-client SLUG EMAIL`: one client's erasure request (``tenants.lifecycle.erasure``)."""

from __future__ import annotations

from typing import Any

import click

from tenants.cli.base import emit_json, fail, with_django


def _summary(report: Any) -> str:
    return (
        f"{report.matters} matters, {report.documents} documents ({report.files} files with their data keys), "
        f"{report.identity_fields} identity fields, intake answers on {report.intake_answers} matters, "
        f"{report.messages} message bodies, {report.notifications} notifications"
    )


def _kept(report: Any) -> str:
    return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in report.kept.items())


@click.command("erase-client")
@click.argument("slug")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Erase; without it, only show what would be erased.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def erase_client(slug: str, email: str, yes: bool, as_json: bool) -> None:
    """Erase one client's personal data (files crypto-shredded); invoices, ledger and audit log are kept."""
    import getpass

    from core.erasure import ErasureRefused, erasure_client, placeholder_email
    from tenants.lifecycle.erasure import client_erase, client_erasure_plan
    from tenants.services import firm_get

    tenant = firm_get(slug)
    try:
        client = erasure_client(tenant=tenant, email=email)
        if yes:
            report = client_erase(tenant=tenant, client=client, actor_label=f"cli:{getpass.getuser()}")
        else:
            report = client_erasure_plan(tenant=tenant, client=client)
    except ErasureRefused as exc:
        fail(f"{exc}")
    if as_json:
        emit_json({"slug": slug, "dry_run": not yes, "erased_as": placeholder_email(client), **report.as_dict()})
    elif not yes:
        click.echo(f"would erase {report.email} in {slug}: {_summary(report)}")
        click.echo(f"would keep: {_kept(report)}, and the audit log")
        click.echo("dry run: nothing changed; add --yes to erase")
    else:
        click.echo(f"erased {report.email} in {slug}, now {placeholder_email(client)}: {_summary(report)}")
        click.echo(f"kept: {_kept(report)}, and the audit log")
    if report.files_left:
        fail(
            f"{len(report.files_left)} of {report.files} files could not be deleted and keep their data keys; "
            f"run `portico tenants erase-client {slug} {placeholder_email(client)} --yes` again"
        )
