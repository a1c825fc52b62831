"""`portico tenants rotate-keys SLUG` (``tenants.lifecycle.rotation``)."""

from __future__ import annotations

import time

import click

from tenants.cli.base import emit_json, fail, with_django


@click.command("rotate-keys")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def rotate_keys(slug: str, as_json: bool) -> None:
    """New primary key versions for a firm; every data key re-wrapped (files are not re-encrypted)."""
    from kms.errors import KmsError
    from tenants.lifecycle.rotation import firm_rotate_keys
    from tenants.services import firm_get

    tenant = firm_get(slug)
    step = 0

    def progress(done: int, total: int) -> None:
        nonlocal step
        if not as_json and done and (done == total or done >= step):
            click.echo(f"re-wrapped {done}/{total} file data keys", err=True)
            step = done + max(total // 20, 1)

    started = time.perf_counter()
    try:
        report = firm_rotate_keys(tenant=tenant, progress=progress)
    except KmsError as exc:
        fail(f"{slug}: {exc}")
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json(
            {
                "slug": slug,
                "versions": report.versions,
                "key_ids": report.key_ids,
                "field_keys_rewrapped": report.field_keys_rewrapped,
                "objects_rewrapped": report.objects_rewrapped,
                "seconds": round(elapsed, 3),
            }
        )
        return
    for key_class, version in report.versions.items():
        click.echo(f"{key_class} key is now version {version} ({report.key_ids[key_class]})")
    click.echo(
        f"re-wrapped {report.field_keys_rewrapped} field keys and {report.objects_rewrapped} file data keys "
        f"in {elapsed:.2f} s; no file was re-encrypted"
    )
