"""Anchors: a firm's chain head, signed by the platform and kept in the public schema.

The signed message is the UTF-8 of compact JSON with sorted keys::

    {"created": "...Z", "head_hash": "<64 hex>", "kind": "...", "sequence": N,
     "tenant": "<schema>", "v": "portico-audit-anchor-v1"}

signed with Ed25519 by ``kms.signing`` (the platform's key; ``key_id`` names it).
Someone who rewrites a firm's log cannot produce a matching anchor without that
key, so every anchored prefix of the chain is fixed; and each anchor is also
appended to the firm's anchor journal outside the database (``core.audit.journal``),
so deleting anchor rows does not make them go away.
"""

from __future__ import annotations

import base64
import json

from django.db import connection, transaction
from django.utils import timezone

from core.audit.chain import GENESIS, format_timestamp
from core.audit.journal import journal_append
from kms import signing
from tenants.current import current_firm
from tenants.models import AuditAnchor

ANCHOR_VERSION = "portico-audit-anchor-v1"


def anchor_message(anchor: AuditAnchor, *, schema: str) -> bytes:
    body = {
        "v": ANCHOR_VERSION,
        "tenant": schema,
        "kind": anchor.kind,
        "sequence": anchor.sequence,
        "head_hash": anchor.head_hash,
        "created": format_timestamp(anchor.created),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def anchor_is_genuine(anchor: AuditAnchor, *, schema: str) -> bool:
    try:
        signature = base64.b64decode(anchor.signature, validate=True)
    except ValueError:
        return False
    return signing.verify(anchor_message(anchor, schema=schema), signature, anchor.key_id)


def current_head() -> tuple[int, str]:
    """The last entry in the current firm's log (or the last checkpoint when all were pruned)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequence, hash FROM audit_auditentry ORDER BY sequence DESC LIMIT 1")
        row = cursor.fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    tenant = current_firm()
    checkpoint = tenant.audit_anchors.filter(kind=AuditAnchor.Kind.CHECKPOINT).order_by("-sequence").first()
    if checkpoint is not None:
        return checkpoint.sequence, checkpoint.head_hash
    return 0, GENESIS


def audit_anchor(
    *, kind: str, head: tuple[int, str] | None = None, skip_if_anchored: bool = False
) -> AuditAnchor | None:
    """Sign and store the current firm's chain head (or ``head``), in the caller's transaction.

    With ``skip_if_anchored`` nothing is written when the latest anchor already
    covers the head (the scheduled anchor of an idle firm).
    """
    tenant = current_firm()
    sequence, head_hash = head if head is not None else current_head()
    if skip_if_anchored:
        latest = tenant.audit_anchors.order_by("-sequence", "-id").first()
        if latest is not None and latest.sequence >= sequence:
            return None
    anchor = AuditAnchor(tenant=tenant, kind=kind, sequence=sequence, head_hash=head_hash, created=timezone.now())
    key_id, signature = signing.sign(anchor_message(anchor, schema=tenant.schema_name))
    anchor.key_id, anchor.signature = key_id, base64.b64encode(signature).decode()
    with transaction.atomic(savepoint=False):
        anchor.save()
    # Outside the database too, once the anchor is committed (a rolled-back anchor never existed).
    transaction.on_commit(lambda: journal_append(schema=tenant.schema_name, anchor=anchor))
    return anchor


def anchor_as_dict(anchor: AuditAnchor, *, schema: str) -> dict[str, object]:
    """Everything an outside verifier needs: the signed message, the signature and the public key."""
    return {
        "kind": anchor.kind,
        "sequence": anchor.sequence,
        "head_hash": anchor.head_hash,
        "created": format_timestamp(anchor.created),
        "key_id": anchor.key_id,
        "signature": anchor.signature,
        "signed_message": anchor_message(anchor, schema=schema).decode(),
        "public_key": base64.b64encode(signing.public_key(anchor.key_id)).decode(),
        "algorithm": "Ed25519",
    }
