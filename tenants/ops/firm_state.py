"""What a firm's data adds up to, so that a restore can prove it brought back the same firm.

``firm_state`` reads, in whatever snapshot the caller's transaction holds: rows per table,
the audit chain's head, every ledger account's balance, the three-way reconciliation at the
end of each month with trust activity, and the file inventory. A backup records it; a
restore computes it again on the restored firm and compares (``verify_restored``), then
also recomputes the audit chain against its signed anchors and journal, checks that the
ledger balances, and decrypts every file against its recorded SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from psycopg import sql

from billing.ledger.models import Account, AccountMonth
from billing.ledger.selectors import balances_by_account, unbalanced_entries
from billing.reconciliation.selectors import month_end, three_way
from core.audit.models import AuditChainHead
from core.audit.verify import audit_verify
from kms.fields import EncryptedField
from residency.models import StoredObject
from residency.storage import FirmStorage
from tenants.models import Tenant


def _rows(schema: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema])
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))
            counts[table] = int(cursor.fetchone()[0])
    return counts


def _balances() -> dict[str, int]:
    described = {
        account.pk: "|".join(
            [
                account.kind,
                account.currency,
                account.client.email if account.client is not None else "",
                account.matter.reference if account.matter is not None else "",
                account.billing_code,
            ]
        )
        for account in Account.objects.select_related("client", "matter")
    }
    return {described[pk]: amount.minor for pk, amount in sorted(balances_by_account().items())}


def _three_way() -> list[dict[str, Any]]:
    reports = []
    trust = AccountMonth.objects.filter(account__kind=Account.Kind.TRUST_BANK)
    for month, currency in sorted(set(trust.values_list("month", "account__currency"))):
        report = three_way(period_end=month_end(month), currency=currency)
        reports.append(
            {
                "period_end": report.period_end.isoformat(),
                "currency": currency,
                "statement_balance_minor": report.statement_balance.minor,
                "adjusted_bank_minor": report.adjusted_bank.minor,
                "book_balance_minor": report.book_balance.minor,
                "client_ledgers_minor": report.client_ledgers.minor,
                "balanced": report.balanced,
                "clients": [[c.client, c.matter, c.balance.minor] for c in report.clients],
            }
        )
    return reports


def _files() -> dict[str, Any]:
    inventory = list(StoredObject.objects.order_by("name").values_list("name", "sha256", "size"))
    digest = hashlib.sha256("\n".join(f"{name} {sha} {size}" for name, sha, size in inventory).encode())
    return {"objects": len(inventory), "bytes": sum(size for _, _, size in inventory), "digest": digest.hexdigest()}


def firm_state(tenant: Tenant) -> dict[str, Any]:
    """The firm's figures, read in the current transaction's snapshot."""
    with tenant:
        head = AuditChainHead.objects.first()
        return {
            "rows": _rows(tenant.schema_name),
            "audit_head": {"sequence": head.sequence if head else 0, "hash": head.hash if head else ""},
            "ledger_balances": _balances(),
            "three_way": _three_way(),
            "files": _files(),
        }


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    audit_entries: int = 0
    anchors: int = 0
    journal_entries: int = 0
    files_decrypted: int = 0
    encrypted_values: int = 0
    three_way_months: int = 0
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "audit_entries": self.audit_entries,
            "anchors": self.anchors,
            "journaled_anchors": self.journal_entries,
            "files_decrypted": self.files_decrypted,
            "encrypted_values": self.encrypted_values,
            "three_way_months": self.three_way_months,
            "figures": self.figures,
        }


def _differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    problems = []
    for part in ("rows", "audit_head", "ledger_balances", "three_way", "files"):
        if expected.get(part) != found.get(part):
            problems.append(f"{part.replace('_', ' ')} differ from the backup's")
    return problems


def _read_encrypted_fields(result: Verification) -> None:
    """Every encrypted column of the firm, decrypted: the field keys unwrap through the restored KEKs."""
    for model in apps.get_models():
        columns = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
        if not columns or model._meta.app_config.name not in settings.TENANT_APPS:
            continue
        try:
            for values in model._default_manager.values_list(*columns):
                result.encrypted_values += sum(value is not None for value in values)
        except Exception as exc:  # a key that does not unwrap: report which model
            result.problems.append(f"{model._meta.label}: encrypted fields do not decrypt: {type(exc).__name__}: {exc}")


def verify_restored(tenant: Tenant, *, expected: dict[str, Any]) -> Verification:
    """Is the restored firm the one that was backed up, and is it sound (chain, ledger, files)?"""
    result = Verification()
    found = firm_state(tenant)
    result.figures = {key: value for key, value in found.items() if key != "rows"}
    result.problems += _differences(expected, found)
    result.three_way_months = len(found["three_way"])
    report = audit_verify(tenant=tenant)
    result.audit_entries, result.anchors, result.journal_entries = report.checked, report.anchors, report.journaled
    if report.problem:
        result.problems.append(f"audit log: {report.problem.message}")
    with tenant:
        if unbalanced := unbalanced_entries():
            result.problems.append(f"ledger: {len(unbalanced)} unbalanced entries")
        _read_encrypted_fields(result)
        storage = FirmStorage()
        for name, sha256 in StoredObject.objects.order_by("name").values_list("name", "sha256"):
            digest = hashlib.sha256()
            try:
                for chunk in storage.stream(name):
                    digest.update(chunk)
            except Exception as exc:  # every file is tried; the first failures are reported
                result.problems.append(f"file {name}: {type(exc).__name__}: {exc}")
                continue
            if digest.hexdigest() != sha256:
                result.problems.append(f"file {name}: decrypts to other bytes than were stored")
            else:
                result.files_decrypted += 1
    return result
