"""`portico backup` and `portico restore`: encrypted backups that restore and prove it (``tenants.ops``)."""

from __future__ import annotations

from pathlib import Path

import click

from tenants.cli.base import emit_json, fail, with_django


@click.command("backup")
@click.option(
    "--tenant", "slug", default=None, help="One firm's schema and control-plane rows (default: the whole database)."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="The file to write.")
@click.option("--all-firms", is_flag=True, help="The whole database, then every firm on its own, into --out-dir.")
@click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Directory for --all-firms."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def backup(slug: str | None, out: Path | None, all_firms: bool, out_dir: Path | None, as_json: bool) -> None:
    """Write an encrypted backup (sealed by the platform key) of the database or of one firm."""
    from tenants.ops.backup import backup_all, backup_database, backup_firm
    from tenants.services import firm_get

    if all_firms:
        if out_dir is None or out is not None or slug:
            fail("--all-firms takes --out-dir only", code=2)
        results = backup_all(out_dir=out_dir)
    else:
        if out is None or out_dir is not None:
            fail("give --out FILE (or --all-firms --out-dir DIR)", code=2)
        if out.exists():
            fail(f"{out} exists: backups are never overwritten", code=2)
        results = [backup_firm(tenant=firm_get(slug), out=out) if slug else backup_database(out=out)]
    if as_json:
        emit_json([result.as_dict() for result in results])
        return
    for result in results:
        what = f"firm {result.slug}" if result.slug else "the whole database"
        click.echo(f"backed up {what} to {result.path} ({result.bytes:,} bytes, {result.seconds:.1f} s)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Read and authenticate the backup, restore nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def restore(path: Path, check_only: bool, as_json: bool) -> None:
    """Restore a backup into this database (DATABASE_URL), then verify every restored firm.

    A whole-database backup needs an empty database; a firm's backup needs the firm to be
    absent. Exits 1 when the restored data differs from the backup or does not verify.
    """
    from tenants.ops.restore import RestoreError, check_backup
    from tenants.ops.restore import restore as run_restore
    from tenants.ops.sealed import BackupUnreadable

    try:
        if check_only:
            checked = check_backup(path=path)
            emit_json(checked) if as_json else click.echo(
                f"{path}: readable, authentic and complete ({checked['kind']})"
            )
            return
        result = run_restore(path=path)
    except (RestoreError, BackupUnreadable) as exc:
        fail(str(exc))
    if as_json:
        emit_json(result.as_dict())
    else:
        for slug, verification in result.firms.items():
            if verification.ok:
                click.echo(
                    f"restored {slug}: audit chain verified ({verification.audit_entries} entries, "
                    f"{verification.anchors} anchors), ledger and {verification.three_way_months} three-way "
                    f"report(s) as backed up, {verification.files_decrypted} file(s) decrypt"
                )
            else:
                click.echo(f"restored {slug} with problems: {'; '.join(verification.problems)}", err=True)
    if not result.ok:
        raise click.exceptions.Exit(1)
