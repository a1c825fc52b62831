"""Backups that restore (issue 15 item 4): one firm into a fresh database, and the whole database.

A firm, Bravo, is set up for the module through the real services and committed (so that
pg_dump, another process, sees it): a client with an A-number and passport (encrypted
fields), a matter, two uploaded documents (encrypted files in its storage), a trust
deposit applied to an issued invoice, a bank statement matched for the three-way report,
and a signed audit anchor in its journal. `portico backup` and `portico restore` run as an
operator runs them, as console scripts; the restored firm's figures are compared with the
original's, computed here on the source database. Bravo and the scratch databases go at
the end of the module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

from tenants.cli import main
from tests.support.database import database_params, subprocess_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CLIENT = "rosa@bravo.test"
A_NUMBER = "A-123-456-789"
PASSPORT = "G12345678"


@dataclass
class Bravo:
    tenant: Any
    journal_dir: Path
    figures: dict[str, Any]
    audit_head: tuple[int, str]
    objects: int

    def env(self, database_url: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORTICO_VAR_DIR": str(settings.VAR_DIR),  # the master key that sealed the firm's keys
            "PORTICO_STORAGE_DIR": str(settings.PORTICO_STORAGE_DIR),  # files stay where they are
            "PORTICO_AUDIT_JOURNAL_DIR": str(self.journal_dir),
            **extra,
        }


def portico(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "portico"
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def _populate(tenant: Any) -> None:
    from django.core.files.base import ContentFile

    from billing.money import Money
    from billing.reconciliation.services import statement_auto_match, statement_import_csv
    from billing.reconciliation.statements import CsvMapping
    from billing.trust.services import trust_deposit
    from core.audit.anchors import audit_anchor
    from core.matters import matter_create
    from core.models import ClientProfile, User
    from core.roles import Role
    from core.services import user_create
    from tenants.models import AuditAnchor
    from tests.support.billing import issued
    from tests.support.casework import answer_i130, png_bytes, requirement

    with tenant:
        admin = User.objects.get(email="admin@bravo.test")
        partner = user_create(email="paz@bravo.test", role=Role.PARTNER, full_name="Paz Bravo")
        client = user_create(email=CLIENT, role=Role.CLIENT, full_name="Rosa Lima", language="es")
        ClientProfile.objects.create(
            user=client, a_number=A_NUMBER, passport_number=PASSPORT, date_of_birth=date(1990, 4, 2)
        )
        matter = matter_create(
            reference="2026-0001", title="Rosa Lima marriage petition", matter_type="I-130", client=client, by=admin
        )
        from core.documents import document_submit

        answer_i130(matter, admin)
        for colour in ("navy", "teal"):  # a passport scan, then a better one (both kept)
            document_submit(
                matter=matter,
                requirement=requirement(matter, "passport"),
                uploaded_by=client,
                content=ContentFile(png_bytes(colour), name="passport.png"),
                filename="passport.png",
                content_type="image/png",
                metadata={},
                slot=1,
            )
        today = timezone.localdate()
        trust_deposit(
            client=client,
            matter=matter,
            amount=Money(2500_00, "USD"),
            method="wire",
            reference="W-9",
            by=partner,
            cleared_on=today,
        )
        issued(matter, partner, "PET-FLAT")
        day = today.strftime("%Y-%m-%d")
        statement = statement_import_csv(
            data=f"date,description,reference,amount\n{day},WIRE IN LIMA,W-9,2500.00\n",
            mapping=CsvMapping(),
            currency="USD",
            by=partner,
            closing_balance=Money(2500_00, "USD"),
        )
        statement_auto_match(statement=statement, by=partner)
        audit_anchor(kind=AuditAnchor.Kind.MANUAL)


@pytest.fixture(scope="module")
def bravo(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bravo]:
    from core.audit.models import AuditChainHead
    from residency.models import StoredObject
    from tenants.ops.firm_state import firm_state
    from tenants.services import tenant_create

    journal_dir = tmp_path_factory.mktemp("bravo-journal")
    previous_journal = settings.PORTICO_AUDIT_JOURNAL_DIR
    settings.PORTICO_AUDIT_JOURNAL_DIR = journal_dir
    with django_db_blocker.unblock():
        tenant = tenant_create(
            slug="bravo", name="Bravo Law", region="us-east-1", admin_email="admin@bravo.test"
        ).tenant
        try:
            _populate(tenant)
            with tenant:
                head = AuditChainHead.objects.get()
                objects = StoredObject.objects.count()
            figures = firm_state(tenant)
            yield Bravo(tenant, journal_dir, figures, (head.sequence, head.hash), objects)
        finally:
            _remove_firm(tenant)
            settings.PORTICO_AUDIT_JOURNAL_DIR = previous_journal


def _remove_firm(tenant: Any) -> None:
    from kms.keys import keks_destroy
    from residency.backends import placement

    placement(tenant).destroy()
    keks_destroy(tenant=tenant)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(tenant.schema_name)))
    tenant.delete()


@pytest.fixture(scope="module")
def scratch_database() -> Iterator[str]:
    """A database of its own on the same server, for the module (dropping one forces a checkpoint: once)."""
    params = database_params()
    name = f"{params['dbname']}_restore"
    admin = {**params, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    prefix, _, rest = subprocess_database_url().rpartition("/")
    _old_name, _, query = rest.partition("?")
    yield f"{prefix}/{name}" + (f"?{query}" if query else "")
    with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def fresh_database(scratch_database: str) -> str:
    """The scratch database, emptied: no schema but an empty public, as after CREATE DATABASE."""
    params = {**database_params(), "dbname": scratch_database.rpartition("/")[2].partition("?")[0]}
    with psycopg.connect(**params, autocommit=True) as conn:  # type: ignore[arg-type]
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.execute("CREATE SCHEMA public")
    return scratch_database


FIRM_KIND = {"kind": "firm", "file": "bravo.portico-backup"}


def _last_entry(schema: str, *, database: str | None = None) -> tuple[str, dict[str, Any]]:
    """The action and data of the newest entry in ``schema``'s audit log (this test's database, or another)."""
    params = database_params()
    if database is not None:
        params = {**params, "dbname": database.rpartition("/")[2].partition("?")[0]}
    with psycopg.connect(**params) as conn:  # type: ignore[arg-type]
        query = sql.SQL("SELECT action, data FROM {} ORDER BY sequence DESC LIMIT 1").format(
            sql.Identifier(schema, "audit_auditentry")
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    return str(row[0]), json.loads(str(row[1]))


@pytest.fixture(scope="module")
def firm_backup(bravo: Bravo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backups") / "bravo.portico-backup"
    made = portico("backup", "--tenant", "bravo", "--out", str(out), "--json", env=bravo.env(subprocess_database_url()))
    assert made.returncode == 0, made.stderr
    [result] = json.loads(made.stdout)
    assert result["kind"] == "firm"
    assert out.stat().st_mode & 0o777 == 0o600
    return out


@pytest.mark.parametrize("verb", ["backup", "restore"])
def test_backup_and_restore_have_help(verb: str) -> None:
    result = in_process(verb, "--help")

    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: portico {verb} ")
    assert "--json" in result.stdout


def test_backup_without_a_target_is_a_usage_error(db: None) -> None:
    result = in_process("backup")

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: give --out FILE (or --all-firms --out-dir DIR)"


# --- One firm ----------------------------------------------------------------------------------


def test_a_firm_restored_into_a_fresh_database_is_the_same_firm(
    bravo: Bravo, firm_backup: Path, fresh_database: str
) -> None:
    restored = portico("restore", str(firm_backup), "--json", env=bravo.env(fresh_database))

    assert restored.returncode == 0, restored.stdout + restored.stderr
    report = json.loads(restored.stdout)
    firm = report["firms"]["bravo"]
    assert firm["ok"], firm["problems"]
    # Its audit chain verifies against the signed anchor and the journal outside the database.
    assert firm["audit_entries"] == bravo.audit_head[0]
    assert firm["anchors"] == firm["journaled_anchors"] == 1
    # Ledger balances and three-way report as in the original (computed on the source database).
    assert firm["figures"]["ledger_balances"] == bravo.figures["ledger_balances"]
    assert firm["figures"]["three_way"] == bravo.figures["three_way"]
    [month] = firm["figures"]["three_way"]
    assert month["balanced"]
    assert month["book_balance_minor"] == month["client_ledgers_minor"] == month["adjusted_bank_minor"]
    # Files decrypt (keys from the master key, not the backup), and so do the encrypted fields.
    assert firm["files_decrypted"] == bravo.objects == 2
    assert firm["encrypted_values"] >= 3

    head = firm["figures"]["audit_head"]
    assert (head["sequence"], head["hash"]) == bravo.audit_head
    # Both logs say what happened: the original's that it was backed up, the copy's that it was restored.
    assert _last_entry(bravo.tenant.schema_name) == ("firm.backup", {"backup_id": report["backup_id"], **FIRM_KIND})
    action, data = _last_entry(bravo.tenant.schema_name, database=fresh_database)
    assert (action, data["backup_id"], data["kind"], data["verified"]) == (
        "firm.restore",
        report["backup_id"],
        "firm",
        True,
    )


def test_the_backup_holds_no_readable_personal_data(bravo: Bravo, firm_backup: Path) -> None:
    content = firm_backup.read_bytes()
    header = content.split(b"\n", 2)[1]

    assert json.loads(header)["sealed_by"] == "local master key"
    for value in (CLIENT, "Rosa Lima", "marriage petition", A_NUMBER, PASSPORT, "Bravo Law"):
        assert value.encode() not in content


def in_process(*args: str) -> Result:
    """The CLI in this process, on the test database (for verbs that only read it)."""
    return CliRunner().invoke(main, list(args), prog_name="portico")


def test_a_backup_is_checked_end_to_end_and_an_altered_one_is_refused(firm_backup: Path, tmp_path: Path) -> None:
    altered = tmp_path / "altered.portico-backup"
    data = bytearray(firm_backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered.write_bytes(bytes(data))

    good = in_process("restore", "--check", str(firm_backup))
    bad = in_process("restore", "--check", str(altered))

    assert good.exit_code == 0, good.stderr
    assert "readable, authentic and complete (firm)" in good.stdout
    assert bad.exit_code == 1
    assert "damaged or was altered" in bad.stderr


def test_a_backup_sealed_by_another_platform_key_cannot_be_read(bravo: Bravo, firm_backup: Path) -> None:
    import base64
    import secrets

    other_key = base64.b64encode(secrets.token_bytes(32)).decode()
    result = portico(
        "restore", "--check", str(firm_backup), env=bravo.env(subprocess_database_url(), PORTICO_MASTER_KEY=other_key)
    )

    assert result.returncode == 1
    assert "the backup's key cannot be unsealed (local master key)" in result.stderr


def test_restoring_a_firm_that_exists_is_refused(bravo: Bravo, firm_backup: Path) -> None:
    result = in_process("restore", str(firm_backup))

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: firm 'bravo' already exists in this database: restore into another database"


# --- The whole database ------------------------------------------------------------------------


def test_the_whole_database_restores_and_every_firm_verifies(bravo: Bravo, fresh_database: str, tmp_path: Path) -> None:
    out = tmp_path / "database.portico-backup"
    made = portico("backup", "--out", str(out), env=bravo.env(subprocess_database_url()))
    assert made.returncode == 0, made.stderr

    restored = portico("restore", str(out), "--json", env=bravo.env(fresh_database))
    into_a_used_database = in_process("restore", str(out))

    assert restored.returncode == 0, restored.stdout + restored.stderr
    report = json.loads(restored.stdout)
    assert report["kind"] == "database"
    assert set(report["firms"]) >= {"acme", "globex", "bravo"}
    assert all(firm["ok"] for firm in report["firms"].values()), report["firms"]
    assert report["firms"]["bravo"]["files_decrypted"] == 2
    for slug in report["firms"]:
        backed_up = _last_entry(slug)
        assert backed_up == ("firm.backup", {"backup_id": report["backup_id"], "kind": "database", "file": out.name})
        action, data = _last_entry(slug, database=fresh_database)
        assert (action, data["backup_id"], data["kind"], data["verified"]) == (
            "firm.restore",
            report["backup_id"],
            "database",
            True,
        )
    assert into_a_used_database.exit_code == 1
    assert "restore a whole database into an empty one" in into_a_used_database.stderr
