"""`portico tenants export|offboard SLUG` and `portico residency report`.

The verbs register themselves on ``portico`` when this module is imported
(tenants/cli.py imports it last), so either module may be imported first.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from tenants.cli import emit_json, fail, main, with_django
from tenants.cli import tenants as tenants_group


def _export_json(report: Any) -> dict[str, Any]:
    return {
        "path": str(report.path),
        "rows": report.rows,
        "tables": report.tables,
        "files": report.files,
        "file_bytes": report.file_bytes,
        "archive_sha256": report.archive_sha256,
        "seconds": round(report.seconds, 3),
    }


@click.command("export")
@click.argument("slug")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archive to write (.tar or .tar.gz)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def export(slug: str, out: Path, as_json: bool) -> None:
    """Write a complete, decrypted archive of a firm: every row, every file, and a manifest with SHA-256s."""
    from kms.errors import KmsError
    from residency.errors import ResidencyError
    from residency.export import firm_export
    from tenants.services import firm_get

    tenant = firm_get(slug)
    progress = (lambda message: None) if as_json else (lambda message: click.echo(message, err=True))
    try:
        report = firm_export(tenant=tenant, out=out, progress=progress)
    except (ResidencyError, KmsError) as exc:
        fail(f"{slug}: {exc}")
    if as_json:
        emit_json({"slug": slug, **_export_json(report)})
        return
    click.echo(
        f"exported {slug}: {report.rows} rows in {len(report.tables)} tables, {report.files} files "
        f"({report.file_bytes} bytes) to {report.path} in {report.seconds:.2f} s"
    )
    click.echo(f"archive sha256 {report.archive_sha256}")


def _default_out(slug: str) -> Path:
    from django.conf import settings

    folder = Path(settings.VAR_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{slug}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"


@click.command("offboard")
@click.argument("slug")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Export archive [default: var/exports/].")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def offboard(slug: str, out: Path | None, yes: bool, as_json: bool) -> None:
    """Export a firm, then delete its schema, files and keys for good (crypto-shredding)."""
    from kms.errors import KmsError
    from residency.errors import ResidencyError
    from residency.offboarding import firm_offboard
    from tenants.services import firm_get

    tenant = firm_get(slug)
    if not yes:
        if not sys.stdin.isatty():
            fail(f"offboarding {slug} destroys its data: confirm with --yes", code=2)
        click.confirm(f"Export {slug}, then permanently delete its schema, files and keys?", abort=True)
    out = out or _default_out(slug)
    progress = (lambda message: None) if as_json else (lambda message: click.echo(message, err=True))
    try:
        report = firm_offboard(tenant=tenant, out=out, progress=progress)
    except (ResidencyError, KmsError) as exc:
        fail(f"{slug}: {exc} (the firm stays in status offboarding; run offboard again)")
    if as_json:
        emit_json(
            {
                "slug": slug,
                "export": _export_json(report.export) if report.export else None,
                "storage_location": report.storage_location,
                "objects_deleted": report.objects_deleted,
                "schema_dropped": report.schema_dropped,
                "keys_destroyed": report.keys_destroyed,
            }
        )
        return
    if report.export:
        click.echo(f"exported to {report.export.path} (sha256 {report.export.archive_sha256})")
    click.echo(
        f"offboarded {slug}: schema dropped, {report.storage_location} deleted "
        f"({report.objects_deleted} object versions), {len(report.keys_destroyed)} keys destroyed"
    )


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


tenants_group.add_command(export)
tenants_group.add_command(offboard)
main.add_command(residency)
