"""The audit actions (core/audit/actions.py): the strings the log has always stored, each one recorded somewhere.

``audit_record`` takes an ``AuditAction`` only: mypy refuses a plain string
there, and ``tests/test_audit_log.py`` shows the log refusing one at run time.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.audit.actions import AuditAction

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("api", "billing", "core", "portal", "tenants", "residency", "kms")

# Every action the log stored before the enum existed: exports, the hash chain and whoever reads
# the log depend on these strings, so none may be renamed or dropped (new ones may be added).
STORED_BEFORE_THE_ENUM = {
    "access_review.exported",
    "audit.export",
    "audit.prune",
    "auth.login",
    "auth.login_failed",
    "auth.logout",
    "client.erase",
    "client.invited",
    "credit_note.approve",
    "credit_note.reject",
    "credit_note.request",
    "credit_refund.approve",
    "credit_refund.reject",
    "credit_refund.request",
    "document.downloaded",
    "document.reviewed",
    "document.upload_refused",
    "document.uploaded",
    "document.viewed",
    "grant.changed",
    "grant.created",
    "grant.expired",
    "grant.revoked",
    "intake.imported",
    "intake.saved",
    "invoice.draft",
    "invoice.issue",
    "invoice.payment",
    "invoice.void",
    "ledger.post",
    "ledger.reverse",
    "matter.assigned",
    "matter.created",
    "matter.stage_changed",
    "matter_type.changed",
    "message.sent",
    "otp.disabled",
    "otp.enabled",
    "otp.reset",
    "permission.granted",
    "permission.revoked",
    "reconciliation.auto_match",
    "reconciliation.close_month",
    "reconciliation.import",
    "reconciliation.match",
    "reconciliation.unmatch",
    "role.assigned",
    "role.removed",
    "settings.changed",
    "storage.orphans_deleted",
    "time_entry.record",
    "trust.apply",
    "trust.deposit",
    "trust.deposit_clear",
    "trust.disbursement_approve",
    "trust.disbursement_post",
    "trust.disbursement_reject",
    "trust.disbursement_request",
    "trust.low_balance",
    "trust.refund_approve",
    "trust.refund_post",
    "trust.refund_reject",
    "trust.refund_request",
    "trust.settings_update",
    "user.invited",
    "user.language_changed",
    "write_off.approve",
    "write_off.reject",
    "write_off.request",
}


def test_the_actions_the_log_has_stored_keep_their_strings() -> None:
    assert STORED_BEFORE_THE_ENUM - {action.value for action in AuditAction} == set()


def test_every_action_reads_area_dot_verb() -> None:
    pattern = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
    for action in AuditAction:
        assert pattern.fullmatch(action.value), action
        assert len(action.value) <= 100, action  # AuditEntry.action's length
        assert action.name == action.value.upper().replace(".", "_"), action  # greppable both ways


def test_every_action_is_documented_and_recorded_by_product_code() -> None:
    """No member that nothing records (the list is what Portico records), and none without its comment."""
    source = "\n".join(
        path.read_text()
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and path.name != "actions.py"
    )
    unused = [action.name for action in AuditAction if f"AuditAction.{action.name}" not in source]
    assert unused == []
    documented = re.findall(r"    #: .+\n    ([A-Z_]+) = ", (ROOT / "core" / "audit" / "actions.py").read_text())
    assert documented == [action.name for action in AuditAction]
