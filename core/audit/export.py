"""Export a firm's log as CSV or JSON lines, with the signed anchor that lets anyone check it.

An export is itself audited (``audit.export``) and anchors the chain head first;
the file then holds every entry up to that anchor. Next to it, ``<file>.anchor.json``
holds the anchor (signed message, Ed25519 signature, key id and public key) and,
after a retention prune, the checkpoint the exported chain continues from.
``core.audit.offline.check_export`` recomputes the chain from the two files alone.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.db import connection, transaction
from psycopg import sql

from core.audit.actions import AuditAction
from core.audit.anchors import anchor_as_dict, audit_anchor
from core.audit.chain import GENESIS, HASHED_COLUMNS, SELECT_LIST
from core.audit.offline import anchor_path_for
from core.audit.services import audit_record
from tenants.models import AuditAnchor, Tenant

if TYPE_CHECKING:
    from core.models import User

FORMATS = ("csv", "jsonl")
COLUMNS = (*HASHED_COLUMNS, "hash")
BATCH = 10_000


@dataclass(frozen=True)
class Exported:
    path: Path
    anchor_path: Path
    entries: int
    last_sequence: int
    anchor: AuditAnchor


def audit_export(*, tenant: Tenant, fmt: str, out: Path, actor: User | None = None) -> Exported:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    with tenant:
        # Committed before the file is written, so appends are not held up for the export's length.
        with transaction.atomic():
            audit_record(AuditAction.AUDIT_EXPORT, actor=actor, data={"format": fmt, "file": out.name})
            anchor = audit_anchor(kind=AuditAnchor.Kind.EXPORT)
        assert anchor is not None
        checkpoint = tenant.audit_anchors.filter(kind=AuditAnchor.Kind.CHECKPOINT).order_by("-sequence").first()
        start = checkpoint.sequence if checkpoint else 0
        partial = out.with_name(out.name + ".partial")
        with partial.open("w", newline="", encoding="utf-8") as handle:
            entries = _write(handle, fmt, _rows(tenant.schema_name, after=start, through=anchor.sequence))
        partial.replace(out)
        sidecar = {
            "tenant": tenant.slug,
            "schema": tenant.schema_name,
            "format": fmt,
            "entries": entries,
            "first_sequence": start + 1 if entries else None,
            "last_sequence": anchor.sequence,
            "continues_from": (
                {"sequence": start, "hash": checkpoint.head_hash} if checkpoint else {"sequence": 0, "hash": GENESIS}
            ),
            "checkpoint": anchor_as_dict(checkpoint, schema=tenant.schema_name) if checkpoint else None,
            "anchor": anchor_as_dict(anchor, schema=tenant.schema_name),
            "chain": "SHA-256 over canonical JSON, see core/audit/chain.py",
        }
        anchor_path_for(out).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Exported(
        path=out, anchor_path=anchor_path_for(out), entries=entries, last_sequence=anchor.sequence, anchor=anchor
    )


def _rows(schema: str, *, after: int, through: int) -> Iterator[tuple[object, ...]]:
    query = sql.SQL("SELECT {} FROM {} WHERE sequence > %s AND sequence <= %s ORDER BY sequence").format(
        sql.SQL(SELECT_LIST), sql.Identifier(schema, "audit_auditentry")
    )
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor(name="audit_export") as cursor:
            cursor.itersize = BATCH
            cursor.execute(query, [after, through])
            while rows := cursor.fetchmany(BATCH):
                yield from rows


def _write(handle: IO[str], fmt: str, rows: Iterator[tuple[object, ...]]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
            count += 1
    else:
        for row in rows:
            handle.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False) + "\n")
            count += 1
    return count
