"""The hash chain: the canonical encoding of an entry and its SHA-256.

An entry's hash is ``SHA-256(canonical(entry))``, hex. ``canonical`` is the
UTF-8 of these fields, in this order, each written as its length in characters
(decimal), a colon and its text, or as ``~`` when null, with nothing between::

    "portico-audit-v1", sequence, created, tenant, action, actor_id, actor_email,
    target_type, target_id, target_label, ip, user_agent, data, prev_hash

e.g. ``16:portico-audit-v11:727:2026-01-01T00:00:00.000000Z4:acme...``. The length
prefixes make the encoding unambiguous whatever a field contains.
``sequence`` and ``actor_id`` are decimal integers (``actor_id`` null when
nobody was signed in); ``created`` is UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``;
``data`` is the stored JSON text of the entry's data (sorted keys, ASCII only);
every other field is the stored text. ``prev_hash`` is the previous entry's
hash, or 64 zeros for the first entry. Every hashed field is stored exactly as
hashed (text, not jsonb or inet, which PostgreSQL would normalise), so anyone
holding an export can recompute the chain with this docstring alone.

The verifier has PostgreSQL write the same encoding (``SQL_CANONICAL``) and
hashes it in Python: if the SHA-256 of what the database wrote equals the
stored hash, the row's fields are the ones hashed at append time, since the
encoding is injective. Tests hold the Python and SQL encodings to each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

VERSION = "portico-audit-v1"
GENESIS = "0" * 64
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The same format in PostgreSQL's to_char, for reading entries straight from the database.
SQL_TIMESTAMP = """to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""

# audit_auditentry's columns in canonical order (``created`` as text), then the stored hash.
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
SELECT_LIST = ", ".join(SQL_TIMESTAMP if column == "created" else column for column in HASHED_COLUMNS) + ", hash"


def _field(value: object) -> str:
    if value is None:
        return "~"
    text = str(value)
    return f"{len(text)}:{text}"


def canonical(values: Iterable[object]) -> bytes:
    """The canonical encoding of the hashed fields (``HASHED_COLUMNS`` order, without the version)."""
    return (_field(VERSION) + "".join(map(_field, values))).encode()


def _sql_field(expression: str) -> str:
    return f"coalesce(length({expression})::text || ':' || {expression}, '~')"


# ``canonical`` in SQL, over audit_auditentry with ``created_text`` (SQL_TIMESTAMP) alongside.
SQL_CANONICAL = " || ".join(
    [
        f"'{_field(VERSION)}'",
        *(
            _sql_field(
                {"sequence": "sequence::text", "created": "created_text", "actor_id": "actor_id::text"}.get(c, c)
            )
            for c in HASHED_COLUMNS
        ),
    ]
)


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
    fields = (
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
    )
    return hashlib.sha256(canonical(fields)).hexdigest()


def hash_of(entry: Any) -> str:
    """``entry_hash`` of an AuditEntry (or anything with its fields), as stored."""
    return entry_hash(
        sequence=entry.sequence,
        created=format_timestamp(entry.created),
        tenant=entry.tenant,
        action=entry.action,
        actor_id=entry.actor_id,
        actor_email=entry.actor_email,
        target_type=entry.target_type,
        target_id=entry.target_id,
        target_label=entry.target_label,
        ip=entry.ip,
        user_agent=entry.user_agent,
        data=entry.data,
        prev_hash=entry.prev_hash,
    )


def row_hash(row: Iterable[object]) -> str:
    """``entry_hash`` for the hashed fields in ``HASHED_COLUMNS`` order."""
    return hashlib.sha256(canonical(row)).hexdigest()


def canonical_data(data: object) -> str:
    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True, cls=DjangoJSONEncoder)
