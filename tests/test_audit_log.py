"""Recording through ``audit_record``, the append-only trigger, export and retention."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings
from django.utils import timezone

from core.audit.actions import AuditAction
from core.audit.chain import hash_of
from core.audit.context import request_origin
from core.audit.models import AuditEntry
from core.audit.offline import check_export
from core.audit.services import AuditError, audit_prune, audit_record
from kms import signing
from tenants.cli.audit import audit
from tenants.models import AuditAnchor
from tests.support.firms import Firm


@pytest.fixture(autouse=True)
def _fresh_signing_key() -> Iterator[None]:
    signing.forget_cached_key()
    yield
    signing.forget_cached_key()


def portico_audit(*args: str) -> Result:
    return CliRunner().invoke(audit, list(args), prog_name="portico audit")


def last_entry(firm: Firm) -> AuditEntry:
    with firm.tenant:
        entry = AuditEntry.objects.order_by("-sequence").first()
    assert entry is not None
    return entry


# --- Recording -------------------------------------------------------------------


def test_an_entry_records_who_what_when_where_and_which_firm(firm_a: Firm) -> None:
    request = RequestFactory().get("/matters/1", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox/130")
    before = timezone.now()
    with firm_a.tenant, request_origin(request):
        entry = audit_record(
            AuditAction.DOCUMENT_DOWNLOADED, actor=firm_a.admin, target=firm_a.admin, data={"size": 12}
        )
    stored = last_entry(firm_a)
    assert stored.sequence == entry.sequence
    assert (stored.actor_id, stored.actor_email) == (firm_a.admin.pk, "alice@acme.test")
    assert (stored.action, stored.target_type, stored.target_id) == (
        "document.downloaded",
        "core.user",
        str(firm_a.admin.pk),
    )
    assert stored.target_label == "alice@acme.test"
    assert (stored.ip, stored.user_agent, stored.tenant) == ("203.0.113.9", "Firefox/130", "acme")
    assert stored.data_dict == {"size": 12}
    assert before <= stored.created <= timezone.now()
    assert stored.created.tzinfo is not None
    assert stored.hash == hash_of(stored)  # recomputed from the row as stored


def test_secrets_passed_as_data_never_reach_the_log(firm_a: Firm) -> None:
    with firm_a.tenant:
        audit_record(
            AuditAction.SETTINGS_CHANGED,
            actor=firm_a.admin,
            data={"password": "hunter2hunter2", "nested": {"otp_token": "123456"}, "fields": ["email"]},
        )
    stored = last_entry(firm_a)
    assert "hunter2" not in stored.data
    assert "123456" not in stored.data
    assert stored.data_dict == {"fields": ["email"], "nested": {"otp_token": "[redacted]"}, "password": "[redacted]"}


def test_an_action_rolled_back_leaves_no_entry(firm_a: Firm) -> None:
    with firm_a.tenant:
        committed = audit_record(AuditAction.MATTER_CREATED, actor=firm_a.admin).sequence
        with pytest.raises(RuntimeError):
            _delete_matter_then_fail(firm_a)
        after = audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
    assert after.sequence == committed + 1  # the rolled-back entry left no gap
    with firm_a.tenant:
        assert not AuditEntry.objects.filter(data__contains='"rolled_back":true').exists()


@transaction.atomic
def _delete_matter_then_fail(firm: Firm) -> None:
    audit_record(AuditAction.MATTER_ASSIGNED, actor=firm.admin, data={"rolled_back": True})
    raise RuntimeError("the action failed")


def test_the_log_is_per_firm(firm_a: Firm, firm_b: Firm) -> None:
    with firm_a.tenant:
        audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin, data={"firm": "a"})
    with firm_b.tenant:
        assert not AuditEntry.objects.filter(data__contains='"firm":"a"').exists()


def test_recording_outside_a_firm_is_refused(db: None) -> None:
    with pytest.raises(AuditError, match="public schema"):
        audit_record(AuditAction.DOCUMENT_VIEWED)


def test_an_action_must_be_one_of_the_audit_actions(firm_a: Firm) -> None:
    with firm_a.tenant, pytest.raises(TypeError, match="AuditAction"):
        audit_record("matter.deleted")  # type: ignore[arg-type]  # what mypy refuses, refused at run time too


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "198.51.100.7", "203.0.113.5", "198.51.100.7"),  # no trusted proxy: the header is ignored
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.5", "203.0.113.5"),
        (["10.0.0.0/8"], "10.1.2.3", "6.6.6.6, 203.0.113.5, 10.9.9.9", "203.0.113.5"),  # spoofed left hop ignored
        (["10.0.0.0/8"], "198.51.100.7", "203.0.113.5", "198.51.100.7"),  # header from an untrusted peer
        (["10.0.0.0/8"], "10.1.2.3", "garbage", "10.1.2.3"),
    ],
)
def test_the_client_address_honours_x_forwarded_for_only_behind_a_trusted_proxy(
    firm_a: Firm, trusted: list[str], remote: str, forwarded: str, expected: str
) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(PORTICO_AUDIT_TRUSTED_PROXIES=trusted), firm_a.tenant, request_origin(request):
        entry = audit_record(AuditAction.DOCUMENT_VIEWED)
    assert entry.ip == expected


# --- Append-only in the database ---------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET action = 'matter.view'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
    ],
)
def test_the_database_refuses_to_change_or_remove_entries_in_a_cloned_firm(firm_b: Firm, statement: str) -> None:
    with firm_b.tenant:
        audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_b.admin)
        with (
            pytest.raises(DatabaseError, match="the audit log is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
        assert AuditEntry.objects.exists()


def test_a_cloned_firm_has_its_own_guard_function(firm_b: Firm) -> None:
    """The clone's triggers call the clone's function, not the template's (dropping the template breaks nothing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.tgname, fn.nspname FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = p.pronamespace
               WHERE n.nspname = 'globex' AND c.relname = 'audit_auditentry' AND NOT t.tgisinternal"""
        )
        triggers = dict(cursor.fetchall())
    assert triggers == {"audit_entry_append_only": "globex", "audit_entry_no_truncate": "globex"}


# --- Export ------------------------------------------------------------------------


@pytest.fixture
def entries(firm_a: Firm) -> list[AuditEntry]:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.44", HTTP_USER_AGENT='Agent "quoted", comma')
    with firm_a.tenant, request_origin(request):
        return [
            audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin, data={"n": n, "name": "Zoë"})
            for n in range(3)
        ]


def test_export_as_json_lines_holds_every_entry_and_the_signed_anchor(
    firm_a: Firm, entries: list[AuditEntry], tmp_path: Path
) -> None:
    out = tmp_path / "acme.jsonl"
    result = portico_audit("export", "--tenant", "acme", "--format", "jsonl", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_sequence = {line["sequence"]: line for line in lines}
    for entry in entries:
        line = by_sequence[entry.sequence]
        assert (line["action"], line["actor_email"], line["ip"]) == ("document.viewed", "alice@acme.test", "192.0.2.44")
        assert json.loads(line["data"])["name"] == "Zoë"
        assert line["hash"] == entry.hash
    assert lines[-1]["action"] == "audit.export"  # the export is itself audited, and included
    sidecar = json.loads((tmp_path / "acme.jsonl.anchor.json").read_text())
    assert sidecar["anchor"]["sequence"] == lines[-1]["sequence"]
    assert sidecar["anchor"]["head_hash"] == lines[-1]["hash"]
    assert sidecar["anchor"]["key_id"].startswith("ed25519:")
    assert sidecar["anchor"]["signature"]
    assert AuditAnchor.objects.filter(tenant=firm_a.tenant, kind="export", sequence=lines[-1]["sequence"]).exists()
    assert check_export(out) == []


def test_export_as_csv_holds_every_entry_and_checks_out(
    firm_a: Firm, entries: list[AuditEntry], tmp_path: Path
) -> None:
    out = tmp_path / "acme.csv"
    result = portico_audit("export", "--tenant", "acme", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "signed anchor (ed25519:" in result.stdout
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "sequence", "created", "tenant", "action", "actor_id", "actor_email", "target_type", "target_id",
        "target_label", "ip", "user_agent", "data", "prev_hash", "hash",
    ]  # fmt: skip
    row = next(r for r in rows if r["sequence"] == str(entries[1].sequence))
    assert row["user_agent"] == 'Agent "quoted", comma'
    assert row["actor_id"] == str(firm_a.admin.pk)
    assert row["hash"] == entries[1].hash
    assert rows[-1]["action"] == "audit.export"
    assert check_export(out) == []
    checked = portico_audit("check-export", str(out))
    assert checked.exit_code == 0, checked.stderr


def test_an_edited_export_fails_its_check(firm_a: Firm, entries: list[AuditEntry], tmp_path: Path) -> None:
    out = tmp_path / "acme.jsonl"
    assert portico_audit("export", "--tenant", "acme", "--format", "jsonl", "--out", str(out)).exit_code == 0
    out.write_text(out.read_text(encoding="utf-8").replace("192.0.2.44", "192.0.2.45", 1), encoding="utf-8")
    result = portico_audit("check-export", str(out))
    assert result.exit_code == 1
    assert "hash mismatch" in result.stderr


def test_export_into_a_missing_directory_is_a_usage_error(firm_a: Firm, tmp_path: Path) -> None:
    result = portico_audit("export", "--tenant", "acme", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: directory")


# --- Retention ---------------------------------------------------------------------


def test_pruning_old_entries_keeps_the_rest_verifiable(firm_a: Firm) -> None:
    with firm_a.tenant:
        old = [audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin) for _ in range(3)]
        midpoint = timezone.now()
        kept = [audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin) for _ in range(2)]
        with override_settings(PORTICO_AUDIT_RETENTION_DAYS=30):
            pruned = audit_prune(now=midpoint + timedelta(days=30))
        assert pruned.through == old[-1].sequence
        assert not AuditEntry.objects.filter(sequence__lte=old[-1].sequence).exists()
        assert AuditEntry.objects.filter(sequence__in=[e.sequence for e in kept]).count() == 2
        assert AuditEntry.objects.order_by("-sequence")[0].action == "audit.prune"
        # The door the prune used is shut again in the same transaction.
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEntry.objects.filter(sequence=kept[0].sequence).delete()
    checkpoint = AuditAnchor.objects.get(tenant=firm_a.tenant, kind="checkpoint")
    assert (checkpoint.sequence, checkpoint.head_hash) == (old[-1].sequence, old[-1].hash)
    result = portico_audit("verify", "--tenant", "acme")
    assert result.exit_code == 0, result.stderr
    assert f"after the checkpoint at #{old[-1].sequence}" in result.stdout


def test_entries_deleted_past_a_checkpoint_are_still_found(firm_a: Firm) -> None:
    with firm_a.tenant:
        audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
        midpoint = timezone.now()
        kept = audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
        audit_prune(now=midpoint + timedelta(days=2557))
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
            cursor.execute("DELETE FROM audit_auditentry WHERE sequence = %s", [kept.sequence])
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
    result = portico_audit("verify", "--tenant", "acme")
    assert result.exit_code == 1
    assert f"entry #{kept.sequence}: missing" in result.stderr


def test_nothing_is_pruned_within_the_retention_period(firm_a: Firm) -> None:
    with firm_a.tenant:
        audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
        assert audit_prune().deleted == 0
    assert not AuditAnchor.objects.filter(kind="checkpoint").exists()


# --- Scheduled anchoring -------------------------------------------------------------


def test_the_scheduler_anchors_every_firm_and_skips_a_firm_with_nothing_new(
    firm_a: Firm, firm_b: Firm, settings: Any
) -> None:
    from core.audit.tasks import anchor_all_firms
    from core.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["audit-anchor"]["task"] == "core.audit.tasks.anchor_all_firms"
    with firm_a.tenant:
        head_a = audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
    with firm_b.tenant:
        head_b = audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_b.admin)
    app.conf.task_always_eager = True
    try:
        anchor_all_firms.delay()
        anchor_all_firms.delay()  # nothing new since: no second anchor
    finally:
        app.conf.task_always_eager = False
    anchors = AuditAnchor.objects.filter(kind="scheduled", tenant__slug__in=["acme", "globex"])
    assert sorted((a.tenant.slug, a.sequence, a.head_hash) for a in anchors) == [
        ("acme", head_a.sequence, head_a.hash),
        ("globex", head_b.sequence, head_b.hash),
    ]


def test_portico_audit_anchor_signs_the_head_now(firm_a: Firm) -> None:
    with firm_a.tenant:
        head = audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
    result = portico_audit("anchor", "--tenant", "acme", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"tenant": "acme", "sequence": head.sequence, "head_hash": head.hash}]
    assert AuditAnchor.objects.get(tenant=firm_a.tenant, kind="manual").sequence == head.sequence


def test_portico_audit_prune_applies_the_retention_setting(firm_a: Firm, monkeypatch: pytest.MonkeyPatch) -> None:
    with firm_a.tenant:
        last = audit_record(AuditAction.DOCUMENT_VIEWED, actor=firm_a.admin)
    in_two_days = timezone.now() + timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: in_two_days)
    with override_settings(PORTICO_AUDIT_RETENTION_DAYS=1):
        result = portico_audit("prune", "--tenant", "acme")
    assert result.exit_code == 0, result.stderr
    assert f"(through #{last.sequence})" in result.stdout
    with firm_a.tenant:
        assert list(AuditEntry.objects.values_list("action", flat=True)) == ["audit.prune"]
    verified = portico_audit("verify", "--tenant", "acme")
    assert verified.exit_code == 0, verified.stderr
    assert "1 entry after the checkpoint" in verified.stdout
