"""`portico residency report`: where each firm's data lives (``residency.selectors``)."""

from __future__ import annotations

import click

from tenants.cli.base import emit_json, with_django


@click.group("residency")
def residency() -> None:
    """Where each firm's data lives."""


@residency.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_django
def report(as_json: bool) -> None:
    """Per firm: region, storage location and its actual region, key ids, rows, objects and bytes."""
    from residency.selectors import residency_report

    firms = residency_report()
    if as_json:
        emit_json(firms)
        return
    if not firms:
        click.echo("No firms yet.")
        return
    for firm in firms:
        storage = firm["storage"]
        where = storage.get("location", "?")
        click.echo(
            f"{firm['slug']}  region {firm['region']}  {storage.get('backend', '?')} {where} "
            f"(actually in {storage.get('actual_region', storage.get('error', '?'))})"
        )
        click.echo(f"  rows {firm['rows']}  objects {firm['objects']}  bytes {firm['bytes']}")
        for key in firm["keys"]:
            primary = " primary" if key["primary"] else ""
            click.echo(f"  key {key['class']} v{key['version']}{primary}: {key['provider']} {key['key_id']}")
        for problem in firm["problems"]:
            click.echo(f"  PROBLEM: {problem}")
