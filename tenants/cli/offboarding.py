"""`portico tenants export|offboard SLUG`: a firm's complete archive, then crypto-shredding.

``residency.export`` writes the archive; ``tenants.lifecycle.offboarding`` deletes the rest.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from tenants.cli.base import emit_json, fail, with_django


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
    from tenants.lifecycle.offboarding import firm_offboard
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
