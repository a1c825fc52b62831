"""`portico audit verify` catches every kind of tampering, and passes an intact log.

Each tampering is done as someone with SQL access would: the append-only
trigger disabled with ``ALTER TABLE ... DISABLE TRIGGER``, rows edited, deleted,
inserted or renumbered, the trigger enabled again. The operator sees exit 1 and
a message naming the first bad entry; an untouched log gives exit 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from django.db import connection
from psycopg import sql

from core.audit.actions import AuditAction
from core.audit.anchors import audit_anchor
from core.audit.chain import GENESIS, entry_hash, format_timestamp
from core.audit.models import AuditEntry
from core.audit.services import audit_record
from kms import signing
from tenants.cli.audit import audit
from tenants.models import AuditAnchor
from tests.support.firms import Firm


@pytest.fixture(autouse=True)
def _fresh_signing_key() -> Iterator[None]:
    """The signing key row is created inside each test's rolled-back transaction: never reuse a cached one."""
    signing.forget_cached_key()
    yield
    signing.forget_cached_key()


def portico_audit(*args: str) -> Result:
    return CliRunner().invoke(audit, list(args), prog_name="portico audit")


def verify(firm: Firm) -> Result:
    return portico_audit("verify", "--tenant", firm.tenant.slug)


def assert_broken_at(result: Result, sequence: int, *words: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: audit log of acme is NOT intact: ")
    assert f"entry #{sequence}:" in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def chain(firm_a: Firm) -> list[int]:
    """Eight entries appended to acme's log in this test's transaction; their sequence numbers."""
    with firm_a.tenant:
        entries = [
            audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin, target=firm_a.admin, data={"page": n})
            for n in range(8)
        ]
    return [entry.sequence for entry in entries]


def tamper(firm: Firm, *statements: tuple[str, list[Any]]) -> None:
    """Run SQL on the firm's audit table with its append-only trigger switched off, as a DB superuser could."""
    table = sql.Identifier(firm.tenant.schema_name, "audit_auditentry")
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(table).as_string(connection.connection))
        for statement, params in statements:
            cursor.execute(sql.SQL(statement).format(table=table).as_string(connection.connection), params)
        cursor.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(table).as_string(connection.connection))


def set_head(firm: Firm, sequence: int) -> None:
    """Move the chain head row too, as a careful forger would."""
    with firm.tenant, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditchainhead SET sequence = %s,"
            " hash = coalesce((SELECT hash FROM audit_auditentry WHERE sequence = %s), %s) WHERE id = 1",
            [sequence, sequence, GENESIS],
        )


def forged_row(firm: Firm, *, sequence: int, prev_hash: str) -> tuple[str, list[Any]]:
    """An entry a forger made up, with a correctly computed hash."""
    fields: dict[str, Any] = {
        "sequence": sequence,
        "created": "2026-01-01T00:00:00.000000Z",
        "tenant": firm.tenant.schema_name,
        "action": "document.delete",
        "actor_id": None,
        "actor_email": "",
        "target_type": "",
        "target_id": "",
        "target_label": "",
        "ip": "",
        "user_agent": "",
        "data": "{}",
        "prev_hash": prev_hash,
    }
    digest = entry_hash(**fields)
    values = [*fields.values(), digest]
    values[1] = "2026-01-01T00:00:00Z"
    return (
        "INSERT INTO {table} (sequence, created, tenant, action, actor_id, actor_email, target_type, target_id,"
        " target_label, ip, user_agent, data, prev_hash, hash)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        values,
    )


def stored_hash(firm: Firm, sequence: int) -> str:
    with firm.tenant:
        return AuditEntry.objects.get(sequence=sequence).hash


def test_an_untouched_log_verifies_with_exit_0_and_a_summary(firm_a: Firm, chain: list[int]) -> None:
    result = verify(firm_a)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("audit log of acme is intact: ")
    assert f"head #{chain[-1]}" in result.stdout


def test_verify_json_reports_the_head_and_no_problem(firm_a: Firm, chain: list[int]) -> None:
    result = portico_audit("verify", "--tenant", "acme", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["last_sequence"] == chain[-1]
    assert report["head_hash"] == stored_hash(firm_a, chain[-1])
    assert report["first_bad_sequence"] is None


def test_an_edited_entry_is_named(firm_a: Firm, chain: list[int]) -> None:
    tamper(firm_a, ("UPDATE {table} SET actor_email = 'someone-else@acme.test' WHERE sequence = %s", [chain[3]]))
    assert_broken_at(verify(firm_a), chain[3], "hash mismatch", "edited")
    # Stopping midway through the log left the connection usable, and the finding stands.
    with firm_a.tenant:
        audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
    assert_broken_at(verify(firm_a), chain[3], "edited")


def test_an_edited_timestamp_is_named(firm_a: Firm, chain: list[int]) -> None:
    tamper(firm_a, ("UPDATE {table} SET created = created - interval '1 day' WHERE sequence = %s", [chain[5]]))
    assert_broken_at(verify(firm_a), chain[5], "edited")


def test_a_deleted_entry_is_named(firm_a: Firm, chain: list[int]) -> None:
    tamper(firm_a, ("DELETE FROM {table} WHERE sequence = %s", [chain[4]]))
    assert_broken_at(verify(firm_a), chain[4], "missing", "deleted")


def test_an_inserted_forged_entry_is_found_at_the_entry_it_displaced(firm_a: Firm, chain: list[int]) -> None:
    """The forged entry's own hash is right; the one after it no longer follows its predecessor."""
    at = chain[3]
    tamper(
        firm_a,
        ("UPDATE {table} SET sequence = sequence + 1000000 WHERE sequence >= %s", [at]),
        ("UPDATE {table} SET sequence = sequence - 999999 WHERE sequence >= 1000000", []),
        forged_row(firm_a, sequence=at, prev_hash=stored_hash(firm_a, at - 1)),
    )
    set_head(firm_a, chain[-1] + 1)
    assert_broken_at(verify(firm_a), at + 1, "prev_hash", "inserted or entries were reordered")


def test_an_entry_appended_behind_the_logs_back_is_found(firm_a: Firm, chain: list[int]) -> None:
    tamper(firm_a, forged_row(firm_a, sequence=chain[-1] + 1, prev_hash=stored_hash(firm_a, chain[-1])))
    assert_broken_at(verify(firm_a), chain[-1] + 1, "forged entry was inserted")


def test_two_swapped_entries_are_named(firm_a: Firm, chain: list[int]) -> None:
    first, second = chain[2], chain[5]
    tamper(
        firm_a,
        ("UPDATE {table} SET sequence = -1 WHERE sequence = %s", [first]),
        ("UPDATE {table} SET sequence = %s WHERE sequence = %s", [first, second]),
        ("UPDATE {table} SET sequence = %s WHERE sequence = -1", [second]),
    )
    assert_broken_at(verify(firm_a), first, "reordered")


def test_neighbours_swapped_are_named(firm_a: Firm, chain: list[int]) -> None:
    first, second = chain[6], chain[7]
    tamper(
        firm_a,
        ("UPDATE {table} SET sequence = -1 WHERE sequence = %s", [first]),
        ("UPDATE {table} SET sequence = %s WHERE sequence = %s", [first, second]),
        ("UPDATE {table} SET sequence = %s WHERE sequence = -1", [second]),
    )
    assert_broken_at(verify(firm_a), first, "reordered")


def test_a_deleted_tail_is_found_from_the_signed_anchor(firm_a: Firm, chain: list[int]) -> None:
    """The forger also moves the chain head back; only the anchor in the public schema remembers."""
    with firm_a.tenant:
        audit_anchor(kind=AuditAnchor.Kind.MANUAL)
    tamper(firm_a, ("DELETE FROM {table} WHERE sequence >= %s", [chain[5]]))
    set_head(firm_a, chain[4])
    result = verify(firm_a)
    assert_broken_at(result, chain[5], "missing", f"covers #{chain[-1]}", "deleted")


def test_a_deleted_tail_is_found_from_the_chain_head_before_any_anchor(firm_a: Firm, chain: list[int]) -> None:
    tamper(firm_a, ("DELETE FROM {table} WHERE sequence >= %s", [chain[6]]))
    assert_broken_at(verify(firm_a), chain[6], "chain head records", "deleted")


def test_a_log_emptied_with_truncate_is_found(firm_a: Firm, chain: list[int]) -> None:
    with firm_a.tenant:
        audit_anchor(kind=AuditAnchor.Kind.MANUAL)
    tamper(firm_a, ("TRUNCATE {table}", []))
    set_head(firm_a, 0)
    assert_broken_at(verify(firm_a), 1, "missing", "deleted")


def test_a_chain_rewritten_consistently_is_caught_by_the_anchor(firm_a: Firm, chain: list[int]) -> None:
    """Edit an anchored entry and recompute every hash after it: the chain is consistent, the anchor is not."""
    with firm_a.tenant:
        audit_anchor(kind=AuditAnchor.Kind.SCHEDULED)
        rows: list[dict[str, Any]] = [
            dict(row) for row in AuditEntry.objects.filter(sequence__gte=chain[2]).order_by("sequence").values()
        ]
    prev = stored_hash(firm_a, chain[2] - 1)
    statements: list[tuple[str, list[Any]]] = []
    for row in rows:
        if row["sequence"] == chain[2]:
            row["actor_email"] = "nobody@acme.test"
        del row["hash"]
        digest = entry_hash(**{**row, "created": format_timestamp(row["created"]), "prev_hash": prev})
        statements.append(
            (
                "UPDATE {table} SET actor_email = %s, prev_hash = %s, hash = %s WHERE sequence = %s",
                [row["actor_email"], prev, digest, row["sequence"]],
            )
        )
        prev = digest
    tamper(firm_a, *statements)
    set_head(firm_a, chain[-1])
    assert_broken_at(verify(firm_a), chain[-1], "signed scheduled anchor", "rewritten")


def test_a_forged_anchor_fails_verification(firm_a: Firm, chain: list[int]) -> None:
    with firm_a.tenant:
        anchor = audit_anchor(kind=AuditAnchor.Kind.MANUAL)
    assert anchor is not None
    AuditAnchor.objects.filter(pk=anchor.pk).update(head_hash="f" * 64)
    assert_broken_at(verify(firm_a), anchor.sequence, "invalid signature", "forged")


def test_an_anchor_signed_by_an_unknown_key_fails_verification(firm_a: Firm, chain: list[int]) -> None:
    with firm_a.tenant:
        anchor = audit_anchor(kind=AuditAnchor.Kind.MANUAL)
    assert anchor is not None
    AuditAnchor.objects.filter(pk=anchor.pk).update(key_id="ed25519:0000000000000000")
    assert_broken_at(verify(firm_a), anchor.sequence, "invalid signature")


def test_anchors_are_signed_by_the_platform_key(firm_a: Firm, chain: list[int]) -> None:
    from core.audit.anchors import anchor_is_genuine, anchor_message

    with firm_a.tenant:
        anchor = audit_anchor(kind=AuditAnchor.Kind.MANUAL)
    assert anchor is not None
    assert (anchor.sequence, anchor.head_hash) == (chain[-1], stored_hash(firm_a, chain[-1]))
    assert anchor.key_id.startswith("ed25519:")
    assert anchor_is_genuine(anchor, schema="acme")
    assert json.loads(anchor_message(anchor, schema="acme"))["tenant"] == "acme"
    assert not anchor_is_genuine(anchor, schema="globex")  # an anchor cannot be moved to another firm


def test_verify_of_an_unknown_firm_is_a_one_line_error(db: None) -> None:
    result = portico_audit("verify", "--tenant", "nope")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no firm with slug 'nope'"


def test_first_entry_links_to_genesis(firm_b: Firm) -> None:
    with firm_b.tenant:
        before = AuditEntry.objects.order_by("-sequence").first()
        entry = audit_record(AuditAction.SETTINGS_CHANGED, actor=firm_b.admin)
    assert entry.prev_hash == (before.hash if before else GENESIS)


def test_python_and_postgresql_write_the_same_canonical_encoding(firm_a: Firm) -> None:
    """What verify hashes (written by SQL) is byte for byte what the append hashed (written in Python)."""
    from django.test import RequestFactory

    from core.audit.chain import HASHED_COLUMNS, SQL_CANONICAL, SQL_TIMESTAMP, canonical
    from core.audit.context import request_origin

    awkward = 'Zoë 🦉 "quoted" \\back\\slash\ttab\nline ~ 12:34 ' + "ü" * 300
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::1", HTTP_USER_AGENT=awkward)
    with firm_a.tenant:
        with request_origin(request):
            awkward_entry = audit_record(AuditAction.DOCUMENT_VIEWED, data={"name": awkward, "n": 1.5, "none": None})
        entries = [
            awkward_entry,
            audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin, target=firm_a.admin, data={}),
        ]
        with connection.cursor() as cursor:
            for entry in entries:
                cursor.execute(
                    f"SELECT {SQL_CANONICAL}, {', '.join(HASHED_COLUMNS)} FROM audit_auditentry"  # noqa: S608
                    f" CROSS JOIN LATERAL (SELECT {SQL_TIMESTAMP} AS created_text) AS t WHERE sequence = %s",
                    [entry.sequence],
                )
                written_by_sql, *fields = cursor.fetchone()
                fields[1] = format_timestamp(fields[1])
                assert written_by_sql.encode() == canonical(fields)
    assert verify(firm_a).exit_code == 0


# --- The anchor journal, outside the database (issue 18, item 10) -------------------


def journaled_anchor(firm: Firm, capture: Any, kind: str = AuditAnchor.Kind.MANUAL) -> AuditAnchor:
    """An anchor whose transaction 'commits' (its on-commit journal write runs), as the scheduled job's does."""
    with capture(execute=True), firm.tenant:
        anchor = audit_anchor(kind=kind)
    assert anchor is not None
    return anchor


def delete_anchor_rows(firm: Firm) -> None:
    """The database's owner deletes the firm's anchors from the public schema, as well."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.tenants_auditanchor WHERE tenant_id = %s", [firm.tenant.pk])


def test_a_committed_anchor_is_appended_to_the_journal_outside_the_database(
    firm_a: Firm, chain: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    from core.audit.journal import journal_path

    with firm_a.tenant:
        audit_anchor(kind=AuditAnchor.Kind.MANUAL)  # never committed (no on-commit callbacks run): not journaled
    assert not journal_path("acme").exists()

    anchor = journaled_anchor(firm_a, django_capture_on_commit_callbacks)
    [line] = journal_path("acme").read_text().splitlines()
    journaled = json.loads(line)
    assert (journaled["sequence"], journaled["head_hash"]) == (chain[-1], stored_hash(firm_a, chain[-1]))
    assert journaled["signature"] == anchor.signature

    report = json.loads(portico_audit("verify", "--tenant", "acme", "--json").stdout)
    assert report["ok"] is True
    assert (report["anchors"], report["journaled_anchors"], report["unjournaled_anchors"]) == (2, 1, 1)


def test_a_cut_log_with_its_head_reset_and_its_anchors_deleted_fails_against_the_journal(
    firm_a: Firm, chain: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    journaled_anchor(firm_a, django_capture_on_commit_callbacks)
    tamper(firm_a, ("DELETE FROM {table} WHERE sequence >= %s", [chain[5]]))
    set_head(firm_a, chain[4])
    delete_anchor_rows(firm_a)

    assert_broken_at(verify(firm_a), chain[-1], "anchor journal", "not in the database", "anchors were deleted")


def test_a_truncated_log_with_every_anchor_deleted_fails_against_the_journal(
    firm_a: Firm, chain: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    journaled_anchor(firm_a, django_capture_on_commit_callbacks, kind=AuditAnchor.Kind.SCHEDULED)
    tamper(firm_a, ("TRUNCATE {table}", []))
    set_head(firm_a, 0)
    delete_anchor_rows(firm_a)

    result = portico_audit("verify", "--tenant", "acme", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["ok"], report["problem"], report["first_bad_sequence"]) == (False, "anchor_deleted", chain[-1])


def test_an_edited_journal_line_is_refused_as_forged(
    firm_a: Firm, chain: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    from core.audit.journal import journal_path

    journaled_anchor(firm_a, django_capture_on_commit_callbacks)
    path = journal_path("acme")
    path.write_text(path.read_text().replace(stored_hash(firm_a, chain[-1]), "0" * 64))

    assert_broken_at(verify(firm_a), chain[-1], "invalid signature", "forged")
