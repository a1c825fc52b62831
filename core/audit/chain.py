"""The hash chain: the canonical encoding of an entry and its SHA-256.

An entry's hash is ``SHA-256(canonical(entry))`` where ``canonical`` is the UTF-8
of a compact JSON array (no spaces, non-ASCII kept as is) of these fields, in
this order::

    ["portico-audit-v1", sequence, created, tenant, action, actor_id, actor_email,
     target_type, target_id, target_label, ip, user_agent, data, prev_hash]

``sequence`` and ``actor_id`` are integers (``actor_id`` null when nobody was
signed in); ``created`` is UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; ``data`` is the
stored JSON text of the entry's data (sorted keys, ASCII only); every other
field is the stored text. ``prev_hash`` is the previous entry's hash (64 hex
digits), or 64 zeros for the first entry. Every hashed field is stored exactly
as hashed (text, not jsonb or inet, which PostgreSQL would normalise), so anyone
holding an export can recompute the chain with this docstring alone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

VERSION = "portico-audit-v1"
GENESIS = "0" * 64
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The same format in PostgreSQL's to_char, for verification straight from the database.
SQL_TIMESTAMP = """to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def entry_hash(
    *,
    sequence: int,
    created: str,
    tenant: str,
    action: str,
    actor_id: int | None,
    actor_email: str,
    target_type: str,
    target_id: str,
    target_label: str,
    ip: str,
    user_agent: str,
    data: str,
    prev_hash: str,
) -> str:
    fields = [
        VERSION,
        sequence,
        created,
        tenant,
        action,
        actor_id,
        actor_email,
        target_type,
        target_id,
        target_label,
        ip,
        user_agent,
        data,
        prev_hash,
    ]
    return hashlib.sha256(_encode(fields).encode()).hexdigest()


def row_hash(row: tuple[object, ...]) -> str:
    """``entry_hash`` for a row in ``HASHED_COLUMNS`` order (the verifier's tight loop)."""
    return hashlib.sha256(_encode([VERSION, *row]).encode()).hexdigest()


# audit_auditentry's columns in canonical order (``created`` as text), then the stored hash.
SELECT_LIST = (
    "sequence, "
    + SQL_TIMESTAMP
    + ", tenant, action, actor_id, actor_email, target_type, target_id, target_label, ip, user_agent, data,"
    " prev_hash, hash"
)
HASHED_COLUMNS = (
    "sequence",
    "created",
    "tenant",
    "action",
    "actor_id",
    "actor_email",
    "target_type",
    "target_id",
    "target_label",
    "ip",
    "user_agent",
    "data",
    "prev_hash",
)


def canonical_data(data: object) -> str:
    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True, cls=DjangoJSONEncoder)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
