"""Recompute a firm's hash chain and hold it against the firm's signed anchors.

Rows are streamed in sequence order with COPY (binary), PostgreSQL writing
each entry's canonical encoding (``chain.SQL_CANONICAL``), and hashed in a
tight loop (no model instances), in one REPEATABLE READ snapshot so that
entries, chain head and anchors are read as of one moment. The first problem
found is reported with the sequence number of the entry it concerns:

- a gap in the sequence: entries were deleted;
- ``prev_hash`` not the previous entry's hash: an entry was inserted or entries reordered;
- the recomputed hash differs from the stored one: the entry was edited;
- the chain is shorter than a signed anchor (or than the chain head row): the tail was deleted;
- an anchor whose Ed25519 signature does not verify: the anchor was forged or altered;
- an entry whose hash differs from a genuine anchor at its sequence: the chain was rewritten;
- an anchor in the firm's anchor journal (``core.audit.journal``, outside the
  database) that is no longer in the database: anchor rows were deleted. The
  journaled anchors count as anchors for everything above, so a log cut and its
  anchors deleted still shows against the journal.

What a hash chain cannot show: entries appended after the latest anchor by
someone who can write SQL, knows this algorithm and also moves the chain head.
Anchoring often (and at every export) bounds that window.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass, field

from django.db import connection, transaction
from psycopg import sql

from core.audit.anchors import anchor_is_genuine
from core.audit.chain import GENESIS, SQL_CANONICAL, SQL_TIMESTAMP
from core.audit.journal import JournalDamaged, anchor_key, journal_read
from tenants.models import AuditAnchor, Tenant


@dataclass(frozen=True)
class Problem:
    sequence: int
    kind: str
    message: str


@dataclass
class VerifyReport:
    tenant: str
    checked: int = 0
    first_sequence: int | None = None
    last_sequence: int = 0
    head_hash: str = GENESIS
    anchors: int = 0
    journaled: int = 0  # anchors in the anchor journal
    unjournaled: int = 0  # genuine anchors in the database the journal does not hold (yet)
    latest_anchor: AuditAnchor | None = None
    checkpoint: AuditAnchor | None = None
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def audit_verify(*, tenant: Tenant) -> VerifyReport:
    started = time.perf_counter()
    report = VerifyReport(tenant=tenant.slug)
    with tenant, transaction.atomic():
        _repeatable_read()
        anchors = _genuine_anchors(tenant, report)
        if report.ok:
            _walk_chain(tenant.schema_name, anchors, report)
        if report.ok:
            _check_head(tenant.schema_name, report)
    report.seconds = time.perf_counter() - started
    return report


def _repeatable_read() -> None:
    # One snapshot for anchors, entries and head. Only possible as the transaction's first query,
    # so not when the caller already runs a transaction (then it is the caller's snapshot rules).
    if not connection.savepoint_ids:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _genuine_anchors(tenant: Tenant, report: VerifyReport) -> list[AuditAnchor]:
    stored = list(AuditAnchor.objects.filter(tenant=tenant).order_by("sequence", "id"))
    try:
        journaled = journal_read(tenant=tenant)
    except JournalDamaged as exc:
        report.problems.append(Problem(0, "journal_damaged", f"the anchor journal is damaged: {exc}"))
        return []
    report.anchors, report.journaled = len(stored), len(journaled)
    for anchor in stored + journaled:
        if not anchor_is_genuine(anchor, schema=tenant.schema_name):
            report.problems.append(
                Problem(
                    anchor.sequence,
                    "anchor_forged",
                    f"entry #{anchor.sequence}: its {anchor.kind} anchor of {anchor.created:%Y-%m-%d %H:%M:%S} UTC"
                    " has an invalid signature, the anchor was forged or altered",
                )
            )
            return []
    in_database, in_journal = {anchor_key(a) for a in stored}, {anchor_key(a) for a in journaled}
    deleted = [anchor for anchor in journaled if anchor_key(anchor) not in in_database]
    if deleted:
        first = min(deleted, key=lambda a: a.sequence)
        report.problems.append(
            Problem(
                first.sequence,
                "anchor_deleted",
                f"entry #{first.sequence}: its signed {first.kind} anchor of {first.created:%Y-%m-%d %H:%M:%S} UTC"
                f" is in the anchor journal but not in the database ({len(deleted)} journaled anchor(s) missing):"
                " anchors were deleted",
            )
        )
        return []
    report.unjournaled = len(in_database - in_journal)
    anchors = stored
    checkpoints = [a for a in anchors if a.kind == AuditAnchor.Kind.CHECKPOINT]
    report.checkpoint = max(checkpoints, key=lambda a: a.sequence) if checkpoints else None
    report.latest_anchor = max(anchors, key=lambda a: (a.sequence, a.created)) if anchors else None
    return anchors


def _walk_chain(schema: str, anchors: list[AuditAnchor], report: VerifyReport) -> None:
    start = report.checkpoint.sequence if report.checkpoint else 0
    prev = report.checkpoint.head_hash if report.checkpoint else GENESIS
    anchored: dict[int, list[AuditAnchor]] = defaultdict(list)
    for anchor in anchors:
        if anchor.sequence > start:
            anchored[anchor.sequence].append(anchor)
        elif anchor.sequence == start and anchor.head_hash != prev:
            report.problems.append(_rewritten(anchor))
            return
    expected = start + 1
    sha256 = hashlib.sha256
    rows = _stream(schema, after=start)
    for sequence, prev_hash, stored, encoded in rows:
        if sequence != expected or prev_hash != prev:
            report.problems.append(_misplaced(sequence, expected))
            break
        if sha256(encoded.encode()).hexdigest() != stored:
            report.problems.append(
                Problem(sequence, "edited", f"entry #{sequence}: hash mismatch, the entry was edited")
            )
            break
        if sequence in anchored and any(anchor.head_hash != stored for anchor in anchored[sequence]):
            report.problems.append(_rewritten(next(a for a in anchored[sequence] if a.head_hash != stored)))
            break
        prev = stored
        expected += 1
    rows.close()
    report.checked = expected - start - 1
    if report.problems:
        return
    report.first_sequence = start + 1 if expected > start + 1 else None
    report.last_sequence, report.head_hash = expected - 1, prev
    beyond = [a for a in anchors if a.sequence > report.last_sequence]
    if beyond:
        furthest = max(beyond, key=lambda a: a.sequence)
        report.problems.append(
            Problem(
                report.last_sequence + 1,
                "truncated",
                f"entry #{report.last_sequence + 1}: missing, the log ends at #{report.last_sequence} but the signed"
                f" {furthest.kind} anchor of {furthest.created:%Y-%m-%d %H:%M:%S} UTC covers #{furthest.sequence}:"
                f" entries #{report.last_sequence + 1}-#{furthest.sequence} were deleted",
            )
        )


def _stream(schema: str, *, after: int) -> Generator[tuple[int, str, str, str], None, None]:
    """(sequence, prev_hash, hash, canonical encoding) of each entry after ``after``, in order.

    Streamed with COPY (binary): rows arrive while earlier ones are hashed, and
    only four columns are parsed per row.
    """
    query = sql.SQL(
        "COPY (SELECT sequence, prev_hash, hash, {} FROM {} CROSS JOIN LATERAL (SELECT {} AS created_text) AS t"
        " WHERE sequence > %s ORDER BY sequence) TO STDOUT (FORMAT BINARY)"
    )
    statement = query.format(sql.SQL(SQL_CANONICAL), sql.Identifier(schema, "audit_auditentry"), sql.SQL(SQL_TIMESTAMP))
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(statement, [after]) as copy:
        copy.set_types(["int8", "text", "text", "text"])
        try:
            yield from copy.rows()
        finally:
            while copy.read():  # leaving a COPY midway would abort the transaction: drain it, unparsed
                pass


def _misplaced(sequence: int, expected: int) -> Problem:
    if sequence > expected:
        missing = f"#{expected}" if sequence == expected + 1 else f"#{expected}-#{sequence - 1}"
        return Problem(expected, "deleted", f"entry {missing}: missing, the entry was deleted (gap before #{sequence})")
    if sequence < expected:
        return Problem(sequence, "reordered", f"entry #{sequence}: out of order, entries were inserted or reordered")
    return Problem(
        sequence,
        "inserted_or_reordered",
        f"entry #{sequence}: prev_hash does not match entry #{sequence - 1}'s hash,"
        " an entry was inserted or entries were reordered",
    )


def _rewritten(anchor: AuditAnchor) -> Problem:
    return Problem(
        anchor.sequence,
        "rewritten",
        f"entry #{anchor.sequence}: hash differs from the signed {anchor.kind} anchor of"
        f" {anchor.created:%Y-%m-%d %H:%M:%S} UTC, the log was rewritten up to here",
    )


def _check_head(schema: str, report: VerifyReport) -> None:
    """The head row is not trusted, only compared: a tail cut without moving it shows here."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT sequence, hash FROM {} WHERE id = 1")
            .format(sql.Identifier(schema, "audit_auditchainhead"))
            .as_string(connection.connection)
        )
        row = cursor.fetchone()
    last = report.last_sequence
    if row is None:
        report.problems.append(Problem(last, "head_missing", "the chain head row is missing"))
    elif row[0] > last:
        report.problems.append(
            Problem(
                last + 1,
                "truncated",
                f"entry #{last + 1}: missing, the log ends at #{last} but the chain head records #{row[0]}:"
                f" entries #{last + 1}-#{row[0]} were deleted",
            )
        )
    elif row[0] < last:
        report.problems.append(
            Problem(
                row[0] + 1,
                "inserted",
                f"entry #{row[0] + 1}: not appended through the log (the chain head records #{row[0]}),"
                " a forged entry was inserted",
            )
        )
    elif row[1] != report.head_hash:
        report.problems.append(
            Problem(last, "edited", f"entry #{last}: hash differs from the chain head's, the entry was edited")
        )
