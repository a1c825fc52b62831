"""The derived-balance tables are not trusted blindly (issue 18 item 3).

Posted entries stay as posted in the database (no line added later, no
truncation), the monthly totals are written only by the ledger's own trigger,
money checks read the lines, and ``portico ledger verify`` recomputes the
totals and holds every entry against its audit record. Tampering is done as a
database owner could: with the tables' user triggers switched off
(``session_replication_role = replica``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalEntry, JournalLine
from billing.ledger.selectors import line_balance
from billing.ledger.services import Line, journal_post
from billing.ledger.verify import ledger_verify
from billing.money import Money
from billing.trust.requests import trust_disbursement_request, trust_request_approve
from billing.trust.services import InsufficientTrustFunds, trust_deposit
from tenants.cli import main
from tests.support.cast import Cast

Kind = Account.Kind


@contextmanager
def as_database_owner() -> Iterator[None]:
    """User triggers off for the statements inside, as the schema's owner (or a superuser) can do.

    What was posted before is checked first, as its commit would have (the tampering comes later).
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # as they are in a new transaction
        cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def _carol_trust(books: Cast) -> Account:
    return account_for(Kind.CLIENT_TRUST, client=books.carol, matter=books.m1)


def _retainer(books: Cast, amount: int = 1000_00) -> JournalEntry:
    deposit = trust_deposit(client=books.carol, matter=books.m1, amount=Money(amount), method="cash", by=books.bill)
    assert deposit.entry is not None
    return deposit.entry


def test_a_balanced_pair_of_lines_added_to_a_posted_entry_is_refused(books: Cast) -> None:
    entry = _retainer(books)
    pair = [
        JournalLine(
            entry=entry,
            account=_carol_trust(books),
            debit_minor=0,
            credit_minor=50_000_00,
            currency="USD",
            occurred_on=entry.occurred_on,
        ),
        JournalLine(
            entry=entry,
            account=account_for(Kind.TRUST_BANK),
            debit_minor=50_000_00,
            credit_minor=0,
            currency="USD",
            occurred_on=entry.occurred_on,
        ),
    ]

    with pytest.raises(DatabaseError, match="already posted"), transaction.atomic():
        JournalLine.objects.bulk_create(pair)
    assert entry.lines.count() == 2


@pytest.mark.parametrize("table", ["billing_journalline", "billing_journalentry", "billing_accountmonth"])
def test_the_journal_and_its_totals_cannot_be_truncated(books: Cast, table: str) -> None:
    _retainer(books)

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred checks now, as a commit would
    with pytest.raises(DatabaseError, match="cannot be"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert JournalLine.objects.count() == 2


def test_the_monthly_totals_are_written_by_the_ledger_only(books: Cast) -> None:
    _retainer(books)

    with pytest.raises(DatabaseError, match="kept by the ledger"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_accountmonth SET credit_minor = credit_minor + 5000000")


def _inflate_carol(books: Cast, by_minor: int) -> None:
    with as_database_owner(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_accountmonth SET credit_minor = credit_minor + %s WHERE account_id = %s",
            [by_minor, _carol_trust(books).pk],
        )


def test_an_edited_monthly_total_makes_nothing_spendable_and_ledger_verify_names_it(books: Cast) -> None:
    _retainer(books, 1000_00)
    first = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(900_00), payee="USCIS", purpose="fee", by=books.bill
    )
    second = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(900_00), payee="Mallory", purpose="x", by=books.bill
    )
    assert ledger_verify(tenant=books.firm.tenant).ok

    _inflate_carol(books, 50_000_00)  # the totals now say 51,000.00 are held for Carol

    with pytest.raises(InsufficientTrustFunds):
        trust_disbursement_request(
            client=books.carol, matter=books.m1, amount=Money(50_000_00), payee="Mallory", purpose="x", by=books.bill
        )
    trust_request_approve(request=first, by=books.paula)  # the real money still moves
    with pytest.raises(InsufficientTrustFunds):
        trust_request_approve(request=second, by=books.paula)  # approval reads the lines: 100.00 are left
    assert line_balance(_carol_trust(books)) == Money(100_00)

    report = ledger_verify(tenant=books.firm.tenant)
    assert not report.ok
    problem = report.problems[0]
    assert problem.kind == "month_total"
    assert problem.account == _carol_trust(books).name
    assert problem.month == timezone.localdate().replace(day=1)


def test_ledger_verify_on_the_cli_exits_1_naming_the_account_and_month(books: Cast) -> None:
    _retainer(books)
    runner = CliRunner()
    clean = runner.invoke(main, ["ledger", "verify", "--tenant", "acme"], prog_name="portico")
    assert clean.exit_code == 0, clean.output
    assert "ledger of acme is intact" in clean.output

    _inflate_carol(books, 50_000_00)

    broken = runner.invoke(main, ["ledger", "verify", "--tenant", "acme"], prog_name="portico")
    assert broken.exit_code == 1
    month = timezone.localdate().strftime("%Y-%m")
    assert _carol_trust(books).name in broken.stderr
    assert month in broken.stderr
    as_json = runner.invoke(main, ["ledger", "verify", "--tenant", "acme", "--json"], prog_name="portico")
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["ok"] is False
    assert data["problems"][0]["account"] == _carol_trust(books).name
    assert data["problems"][0]["month"] == f"{month}-01"


def test_ledger_verify_finds_lines_edited_and_entries_deleted_behind_the_audit_log(books: Cast) -> None:
    entry = _retainer(books, 1000_00)
    other = journal_post(
        kind="test.fee",
        lines=[
            Line.debit(account_for(Kind.OPERATING_BANK), Money(10_00)),
            Line.credit(account_for(Kind.REVENUE), Money(10_00)),
        ],
        memo="fee",
        by=books.bill,
    )
    with as_database_owner(), connection.cursor() as cursor:
        # A forger who also keeps the monthly totals in step with the lines.
        cursor.execute(
            "UPDATE billing_journalline SET credit_minor = 9000000 WHERE entry_id = %s AND credit_minor > 0", [entry.pk]
        )
        cursor.execute(
            "UPDATE billing_journalline SET debit_minor = 9000000 WHERE entry_id = %s AND debit_minor > 0", [entry.pk]
        )
        cursor.execute("DELETE FROM billing_accountmonth")
        cursor.execute(
            "INSERT INTO billing_accountmonth (account_id, month, debit_minor, credit_minor)"
            " SELECT account_id, date_trunc('month', occurred_on)::date, sum(debit_minor), sum(credit_minor)"
            " FROM billing_journalline WHERE entry_id <> %s GROUP BY 1, 2",
            [other.pk],
        )
        cursor.execute("DELETE FROM billing_journalline WHERE entry_id = %s", [other.pk])
        cursor.execute("DELETE FROM billing_journalentry WHERE id = %s", [other.pk])

    report = ledger_verify(tenant=books.firm.tenant)

    kinds = {(problem.kind, problem.entry) for problem in report.problems}
    assert ("entry_altered", entry.pk) in kinds
    assert ("entry_missing", other.pk) in kinds
    assert all(problem.kind != "month_total" for problem in report.problems)
