"""`portico audit verify|export|check-export|anchor|prune`: firms' tamper-evident audit logs (``core.audit``)."""

from __future__ import annotations

from pathlib import Path

import click

from tenants.cli.base import emit_json, fail, with_django


@click.group()
def audit() -> None:
    """Verify, export, anchor and prune firms' tamper-evident audit logs."""


@audit.command("verify")
@click.option("--tenant", "slug", required=True, help="The firm's slug, e.g. acme.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def audit_verify_command(slug: str, as_json: bool) -> None:
    """Recompute the firm's hash chain and check it against its signed anchors.

    Exits 0 when intact, 1 naming the first bad entry.
    """
    from core.audit.verify import audit_verify
    from tenants.services import firm_get

    report = audit_verify(tenant=firm_get(slug))
    latest = report.latest_anchor
    if as_json:
        emit_json(
            {
                "tenant": report.tenant,
                "ok": report.ok,
                "entries_checked": report.checked,
                "first_sequence": report.first_sequence,
                "last_sequence": report.last_sequence,
                "head_hash": report.head_hash,
                "anchors": report.anchors,
                "journaled_anchors": report.journaled,
                "unjournaled_anchors": report.unjournaled,
                "latest_anchor_sequence": latest.sequence if latest else None,
                "checkpoint_sequence": report.checkpoint.sequence if report.checkpoint else None,
                "first_bad_sequence": report.problem.sequence if report.problem else None,
                "problem": report.problem.kind if report.problem else None,
                "message": report.problem.message if report.problem else None,
                "seconds": round(report.seconds, 3),
            }
        )
        if report.problem:
            raise click.exceptions.Exit(1)
        return
    if report.problem:
        fail(f"audit log of {slug} is NOT intact: {report.problem.message}")
    after = f" after the checkpoint at #{report.checkpoint.sequence}" if report.checkpoint else ""
    anchored = f"; latest signed anchor at #{latest.sequence} ({latest.kind})" if latest else "; no anchor yet"
    rate = report.checked / report.seconds if report.seconds else 0.0
    noun = "entry" if report.checked == 1 else "entries"
    click.echo(
        f"audit log of {slug} is intact: {report.checked} {noun}{after}, head #{report.last_sequence}"
        f" {report.head_hash[:16]}…, {report.anchors} anchor(s) verified ({report.journaled} in the anchor journal)"
        f"{anchored}"
        f" ({report.seconds:.2f} s, {rate:,.0f} entries/s)"
    )


@audit.command("export")
@click.option("--tenant", "slug", required=True, help="The firm's slug, e.g. acme.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), required=True, help="File format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_django
def audit_export_command(slug: str, fmt: str, out: Path, as_json: bool) -> None:
    """Write the firm's log (anchored first; the export is itself audited) and PATH.anchor.json."""
    from core.audit.export import audit_export
    from tenants.services import firm_get

    tenant = firm_get(slug)
    if not out.parent.is_dir():
        fail(f"directory {str(out.parent)!r} does not exist", code=2)
    result = audit_export(tenant=tenant, fmt=fmt, out=out)
    if as_json:
        emit_json(
            {
                "tenant": slug,
                "path": str(result.path),
                "anchor_path": str(result.anchor_path),
                "entries": result.entries,
                "last_sequence": result.last_sequence,
                "key_id": result.anchor.key_id,
            }
        )
        return
    click.echo(f"wrote {result.entries} entries of {slug} (through #{result.last_sequence}) to {result.path}")
    click.echo(f"signed anchor ({result.anchor.key_id}) in {result.anchor_path}")


@audit.command("check-export")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def audit_check_export_command(path: Path) -> None:
    """Check an export file against its .anchor.json, without the database."""
    from core.audit.offline import anchor_path_for, check_export

    if not anchor_path_for(path).exists():
        fail(f"{anchor_path_for(path)} is missing", code=2)
    problems = check_export(path)
    if problems:
        fail(f"{path} is NOT intact: {problems[0]}")
    click.echo(f"{path} is intact and matches its signed anchor")


@audit.command("anchor")
@click.option("--tenant", "slug", default=None, help="One firm (default: every firm).")
@click.option("--json", "as_json", is_flag=True, help="Print the anchors as JSON.")
@with_django
def audit_anchor_command(slug: str | None, as_json: bool) -> None:
    """Sign and store the chain head of one firm, or of every firm, now."""
    from core.audit.anchors import audit_anchor
    from core.audit.tasks import maintained_firms
    from tenants.models import AuditAnchor
    from tenants.services import firm_get

    anchored = []
    for tenant in [firm_get(slug)] if slug else maintained_firms():
        with tenant:
            anchor = audit_anchor(kind=AuditAnchor.Kind.MANUAL)
        assert anchor is not None
        anchored.append({"tenant": tenant.slug, "sequence": anchor.sequence, "head_hash": anchor.head_hash})
    if as_json:
        emit_json(anchored)
        return
    for item in anchored:
        click.echo(f"{item['tenant']}: anchored #{item['sequence']} {str(item['head_hash'])[:16]}…")


@audit.command("prune")
@click.option("--tenant", "slug", default=None, help="One firm (default: every firm).")
@with_django
def audit_prune_command(slug: str | None) -> None:
    """Delete entries older than PORTICO_AUDIT_RETENTION_DAYS, after anchoring a checkpoint."""
    from core.audit.services import audit_prune
    from core.audit.tasks import maintained_firms
    from tenants.services import firm_get

    for tenant in [firm_get(slug)] if slug else maintained_firms():
        with tenant:
            pruned = audit_prune()
        click.echo(f"{tenant.slug}: pruned {pruned.deleted} entries (through #{pruned.through})")
