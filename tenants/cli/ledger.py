"""`portico ledger verify`: a firm's ledger held against its lines and its audit log (``billing.ledger``)."""

from __future__ import annotations

import click

from tenants.cli.base import emit_json, fail, with_django


@click.group()
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
