"""Writes on the audit log: recording an action (the one call every part makes) and pruning.

``audit_record`` runs inside the caller's transaction: when the audited action
rolls back, so does its entry. Appends are serialised per firm by a row lock on
the chain head (``SELECT ... FOR UPDATE``), which makes sequence numbers
gap-free and the chain strictly ordered under concurrency; the lock is held
until the caller commits, so record the action late in a long transaction.

Billing's money services take the head *first* instead (``audit_lock_head``), the
first step of the one lock order written down in ``billing/locks.py``: a head
taken in the middle of a transaction, after a row another transaction holds
while it waits for the head, is a deadlock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import psycopg
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import sql

from core.audit.actions import AuditAction
from core.audit.chain import canonical_data, hash_of
from core.audit.context import current_origin
from core.audit.models import AuditEntry
from tenants.db import current_schema

if TYPE_CHECKING:
    from core.models import User

# Values under keys like these never reach the log, whatever a caller passes.
SECRET_KEY_PATTERN = re.compile(
    r"pass(word|wd|phrase)|secret|token|api_?key|private_?key|(^|_)(otp|totp|cvc|cvv)(_|$)", re.IGNORECASE
)
REDACTED = "[redacted]"
LABEL_MAX = 200

_LOCK_HEAD = "SELECT sequence, hash FROM audit_auditchainhead WHERE id = 1 FOR UPDATE"
# Schema-qualified (the firm's schema is filled in), so the append can run on the driver's cursor.
_LOCK_HEAD_IN = sql.SQL("SELECT sequence, hash FROM {schema}.audit_auditchainhead WHERE id = 1 FOR UPDATE")
_APPEND_IN = sql.SQL("""
    WITH entry AS (
        INSERT INTO {schema}.audit_auditentry (sequence, created, tenant, action, actor_id, actor_email, target_type,
                                               target_id, target_label, ip, user_agent, data, prev_hash, hash)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        RETURNING sequence, hash
    )
    UPDATE {schema}.audit_auditchainhead SET sequence = entry.sequence, hash = entry.hash FROM entry WHERE id = 1
""")


class AuditError(RuntimeError):
    """The log cannot be written here (no firm schema, missing chain head)."""


def audit_record(
    action: AuditAction,
    *,
    actor: User | None = None,
    target: models.Model | None = None,
    data: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Record ``action`` (one of ``core.audit.actions.AuditAction``) in the current firm's log.

    ``actor`` is who did it (None: the system, a scheduled job, the CLI). ``target``
    is kept as its model label, primary key and a short label. ``data`` is
    JSON-serialisable context; values under secret-looking keys (password, token,
    otp...) are replaced by ``[redacted]``. IP address and user agent are those of
    the request being served (``core.audit.context``), empty outside one.
    """
    if not isinstance(action, AuditAction):  # mypy refuses a plain string; so does the log
        raise TypeError(f"audit action {action!r} is not an AuditAction (core/audit/actions.py)")
    origin = current_origin()
    entry = AuditEntry(
        tenant=current_schema(),
        action=action,
        actor_id=actor.pk if actor is not None else None,
        actor_email=_clean(actor.email, 254) if actor is not None else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=_clean(str(target.pk), 64) if target is not None else "",
        target_label=_label(target),
        ip=origin.ip,
        user_agent=_clean(origin.user_agent, 512),
        data=canonical_data(_redact(dict(data or {}))),
    )
    if entry.tenant == "public":
        raise AuditError(f"audit_record({action!r}) ran in the public schema; the log lives in a firm's schema")
    if entry.tenant == settings.TENANT_BASE_SCHEMA:
        # The template never holds firm data; an entry there would be copied into every new firm.
        return entry
    _append(entry)
    return entry


def audit_lock_head() -> None:
    """Take the current firm's chain-head lock now; it is held until the caller's transaction ends.

    For services that must hold the head before any other lock (``billing/locks.py``);
    a later ``audit_record`` in the same transaction finds it already held. Nothing
    to lock in the public or template schema, which keep no log.
    """
    schema = current_schema()
    if schema in ("public", settings.TENANT_BASE_SCHEMA):
        return
    if not connection.in_atomic_block:
        raise AuditError("audit_lock_head() outside a transaction would release the lock at once")
    with connection.wrap_database_errors:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_LOCK_HEAD_IN.format(schema=sql.Identifier(schema)), prepare=True)
            if cursor.fetchone() is None:
                raise AuditError(f"the audit chain head of schema {schema!r} is missing")


def _append(entry: AuditEntry) -> None:
    """Lock the head, hash, insert and move the head: two round trips on the hot path.

    The driver's cursor is used directly, with schema-qualified names, because
    a Django cursor on django-tenants first sends ``SET search_path`` (a third
    round trip); both statements are prepared once per connection and firm
    (the pooler runs in session mode, SPEC §2). Errors are still raised as
    Django's database errors.
    """
    schema = sql.Identifier(entry.tenant)
    with transaction.atomic(savepoint=False), connection.wrap_database_errors:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_LOCK_HEAD_IN.format(schema=schema), prepare=True)
            head = cursor.fetchone()
            if head is None:
                raise AuditError(f"the audit chain head of schema {entry.tenant!r} is missing")
            entry.sequence, entry.prev_hash = head[0] + 1, head[1]
            entry.created = timezone.now()
            entry.hash = hash_of(entry)
            cursor.execute(
                _APPEND_IN.format(schema=schema),
                [
                    entry.sequence,
                    entry.created,
                    entry.tenant,
                    entry.action,
                    entry.actor_id,
                    entry.actor_email,
                    entry.target_type,
                    entry.target_id,
                    entry.target_label,
                    entry.ip,
                    entry.user_agent,
                    entry.data,
                    entry.prev_hash,
                    entry.hash,
                ],
                prepare=True,
            )
    entry._state.adding = False
    entry._state.db = "default"


def _clean(text: str, limit: int) -> str:
    """Text PostgreSQL stores byte for byte as hashed: no NUL, valid UTF-8, within the column."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]


def _label(target: models.Model | None) -> str:
    if target is None:
        return ""
    try:
        label = str(target)
    except Exception:  # a broken __str__ must not lose the entry
        label = f"{target._meta.label_lower} {target.pk}"
    return _clean(label, LABEL_MAX)


def _redact(value: object) -> object:
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if SECRET_KEY_PATTERN.search(str(key)) else _redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


@dataclass(frozen=True)
class Pruned:
    through: int  # the last pruned sequence (0: nothing to prune)
    deleted: int


def audit_prune(*, now: datetime | None = None) -> Pruned:
    """Delete the current firm's entries older than the retention period, keeping the rest verifiable.

    The last entry to go is first anchored as a signed *checkpoint* in the public
    schema; verification then starts from it (its hash is the ``prev_hash`` of the
    first remaining entry). The delete goes through the one door the append-only
    trigger leaves open: ``portico.audit_prune_through``, set for this transaction
    only, and only up to the checkpoint. The prune itself is recorded.
    """
    from core.audit.anchors import audit_anchor
    from tenants.models import AuditAnchor

    cutoff = (now or timezone.now()) - timedelta(days=settings.PORTICO_AUDIT_RETENTION_DAYS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK_HEAD)  # no append while the prefix is cut
        cursor.execute(
            "SELECT sequence, hash FROM audit_auditentry WHERE created < %s ORDER BY sequence DESC LIMIT 1", [cutoff]
        )
        last = cursor.fetchone()
        if last is None:
            return Pruned(through=0, deleted=0)
        through, head_hash = int(last[0]), str(last[1])
        audit_anchor(kind=AuditAnchor.Kind.CHECKPOINT, head=(through, head_hash))
        cursor.execute("SELECT set_config('portico.audit_prune_through', %s, true)", [str(through)])
        cursor.execute("DELETE FROM audit_auditentry WHERE sequence <= %s", [through])
        deleted = cursor.rowcount
        cursor.execute("SELECT set_config('portico.audit_prune_through', '0', true)")
        audit_record(
            AuditAction.AUDIT_PRUNE,
            data={"through_sequence": through, "deleted": deleted, "older_than": cutoff.isoformat()},
        )
    return Pruned(through=through, deleted=deleted)
