"""The anchor journal: each firm's signed anchors, also appended to a file outside the database.

Anchors are kept in the public schema, out of the firm's reach; but whoever
owns the database can delete them too, then cut the log and move its chain
head, and the log would verify as intact. So every anchor, once its
transaction commits, is also appended as one JSON line to
``<PORTICO_AUDIT_JOURNAL_DIR>/<schema>.jsonl``, a file the database's owner
cannot rewrite (the directory belongs on another host or on append-only /
WORM storage in production). Lines are only ever appended (``O_APPEND``, one
``write`` per line, then ``fsync``)::

    {"created": "...Z", "head_hash": "<64 hex>", "key_id": "ed25519:...", "kind": "scheduled",
     "sequence": 42, "signature": "<base64>", "v": "portico-audit-journal-v1"}

``portico audit verify`` reads the journal (``journal_read``): every journaled
anchor must carry a genuine signature, must still be in the database, and the
chain must reach it with the same hash; otherwise the log or its anchors were
cut. When a firm is offboarded its journal is retired (renamed), so a later
firm with the same slug starts a fresh one.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from core.audit.chain import TIMESTAMP_FORMAT, format_timestamp
from tenants.models import AuditAnchor, Tenant

JOURNAL_VERSION = "portico-audit-journal-v1"
_FIELDS = ("kind", "sequence", "head_hash", "created", "key_id", "signature")


class JournalDamaged(Exception):
    """A journal line cannot be read; the message names the file and line."""


def journal_path(schema: str) -> Path:
    return Path(settings.PORTICO_AUDIT_JOURNAL_DIR) / f"{schema}.jsonl"


def journal_line(anchor: AuditAnchor) -> str:
    body = {
        "v": JOURNAL_VERSION,
        "kind": anchor.kind,
        "sequence": anchor.sequence,
        "head_hash": anchor.head_hash,
        "created": format_timestamp(anchor.created),
        "key_id": anchor.key_id,
        "signature": anchor.signature,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n"


def journal_append(*, schema: str, anchor: AuditAnchor) -> None:
    """Append ``anchor`` to the firm's journal, durably (called once the anchor's transaction committed)."""
    path = journal_path(schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = journal_line(anchor).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        written = os.write(fd, data)  # one write of one line: appends never interleave
        if written != len(data):
            raise OSError(f"{path}: short write ({written} of {len(data)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)


def journal_read(*, tenant: Tenant) -> list[AuditAnchor]:
    """The firm's journaled anchors, oldest first, as unsaved ``AuditAnchor`` objects (signatures unchecked)."""
    path = journal_path(tenant.schema_name)
    if not path.exists():
        return []
    anchors = []
    with path.open(encoding="utf-8") as journal:
        for number, line in enumerate(journal, start=1):
            anchors.append(_parse(line, tenant=tenant, where=f"{path}:{number}"))
    return anchors


def _parse(line: str, *, tenant: Tenant, where: str) -> AuditAnchor:
    try:
        body = json.loads(line)
        if body.get("v") != JOURNAL_VERSION or not all(name in body for name in _FIELDS):
            raise ValueError(f"not a {JOURNAL_VERSION} line")
        created = datetime.strptime(body["created"], TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        return AuditAnchor(
            tenant=tenant,
            kind=str(body["kind"]),
            sequence=int(body["sequence"]),
            head_hash=str(body["head_hash"]),
            created=created,
            key_id=str(body["key_id"]),
            signature=str(body["signature"]),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise JournalDamaged(f"{where}: unreadable anchor journal line ({exc})") from None


def anchor_key(anchor: AuditAnchor) -> tuple[object, ...]:
    """What identifies an anchor in the database and in the journal alike."""
    return tuple(getattr(anchor, name) for name in _FIELDS)


def journal_retire(*, schema: str) -> Path | None:
    """When a firm is offboarded: keep its journal under another name, so its slug can be used again."""
    path = journal_path(schema)
    if not path.exists():
        return None
    retired = path.with_name(f"{schema}.offboarded-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.jsonl")
    path.rename(retired)
    return retired
