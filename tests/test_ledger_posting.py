"""Posting to the ledger: balanced entries only, immutable once posted, corrections by reversal."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction

from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalEntry, JournalLine
from billing.ledger.selectors import balance, net_debit, unbalanced_entries
from billing.ledger.services import Line, UnbalancedEntry, journal_post, journal_reverse
from billing.money import Money
from core.audit.models import AuditEntry
from tests.support.cast import Cast

Kind = Account.Kind


def _retainer(books: Cast, amount: int = 100_00) -> JournalEntry:
    return journal_post(
        kind="test.retainer",
        lines=[
            Line.debit(account_for(Kind.TRUST_BANK), Money(amount)),
            Line.credit(account_for(Kind.CLIENT_TRUST, client=books.carol, matter=books.m1), Money(amount)),
        ],
        memo="retainer",
        by=books.bill,
    )


def test_a_balanced_entry_posts_and_balances_are_derived_on_the_normal_side(books: Cast) -> None:
    _retainer(books, 250_00)

    assert balance(account_for(Kind.TRUST_BANK)) == Money(250_00)
    assert balance(account_for(Kind.CLIENT_TRUST, client=books.carol, matter=books.m1)) == Money(250_00)
    assert net_debit(account_for(Kind.CLIENT_TRUST, client=books.carol, matter=books.m1)) == Money(-250_00)
    assert unbalanced_entries() == []


def test_every_posting_is_audited_with_its_lines(books: Cast) -> None:
    entry = _retainer(books)

    audit = AuditEntry.objects.get(action="ledger.post", target_id=str(entry.pk))
    assert audit.actor_email == "bill@acme.test"
    data = json.loads(audit.data) if isinstance(audit.data, str) else audit.data
    assert data["lines"][0][1:] == [100_00, 0, "USD"]


def test_an_unbalanced_entry_is_refused_by_the_service(books: Cast) -> None:
    with pytest.raises(UnbalancedEntry, match="differ"):
        journal_post(
            kind="test.bad",
            lines=[
                Line.debit(account_for(Kind.TRUST_BANK), Money(100)),
                Line.credit(account_for(Kind.REVENUE), Money(99)),
            ],
            memo="bad",
            by=books.bill,
        )
    assert not JournalEntry.objects.filter(kind="test.bad").exists()


def test_floats_are_refused_as_amounts(books: Cast) -> None:
    with pytest.raises(UnbalancedEntry, match="whole minor units"):
        journal_post(
            kind="test.float",
            lines=[
                Line.debit(account_for(Kind.TRUST_BANK), 1.5),  # type: ignore[arg-type]
                Line.credit(account_for(Kind.REVENUE), 1.5),  # type: ignore[arg-type]
            ],
            memo="float",
            by=books.bill,
        )
    with pytest.raises(TypeError, match="whole minor units"):
        Money(1.5)  # type: ignore[arg-type]


def _insert_raw(amounts: list[tuple[Account, int, int]]) -> None:
    """Write an entry and its lines (in one INSERT, as the database requires) past the service,
    then make the deferred checks run now (as at commit)."""
    with transaction.atomic():
        entry = JournalEntry.objects.create(kind="raw", memo="raw", occurred_on="2026-01-01")
        JournalLine.objects.bulk_create(
            JournalLine(
                entry=entry,
                account=account,
                debit_minor=debit,
                credit_minor=credit,
                currency="USD",
                occurred_on="2026-01-01",
            )
            for account, debit, credit in amounts
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_database_refuses_an_unbalanced_entry_at_commit(books: Cast) -> None:
    lines = [(account_for(Kind.TRUST_BANK), 5, 0), (account_for(Kind.REVENUE), 0, 4)]

    with pytest.raises(DatabaseError, match="does not balance"):
        _insert_raw(lines)


def test_the_database_refuses_an_entry_with_a_single_line(books: Cast) -> None:
    with pytest.raises(DatabaseError, match="at least two"):
        _insert_raw([(account_for(Kind.TRUST_BANK), 5, 0)])


def test_the_database_accepts_a_balanced_entry_written_directly(books: Cast) -> None:
    _insert_raw([(account_for(Kind.TRUST_BANK), 5, 0), (account_for(Kind.REVENUE), 0, 5)])

    assert balance(account_for(Kind.REVENUE)) == Money(5)


def test_a_posted_line_cannot_be_changed_or_deleted(books: Cast) -> None:
    entry = _retainer(books)
    line = entry.lines.first()
    assert line is not None

    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic():
        JournalLine.objects.filter(pk=line.pk).update(debit_minor=1)
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic():
        JournalLine.objects.filter(pk=line.pk).delete()
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(memo="edited")


def test_a_reversal_is_a_new_entry_that_cancels_the_original_once(books: Cast) -> None:
    entry = _retainer(books)

    reversal = journal_reverse(entry=entry, by=books.alice, memo="recorded on the wrong matter")

    assert reversal.pk != entry.pk
    assert reversal.reverses == entry
    assert balance(account_for(Kind.TRUST_BANK)) == Money(0)
    assert AuditEntry.objects.filter(action="ledger.reverse", target_id=str(reversal.pk)).exists()
    with pytest.raises(ValueError, match="already reversed"):
        journal_reverse(entry=entry, by=books.alice, memo="again")


def test_a_line_in_another_currency_than_its_account_is_refused(books: Cast) -> None:
    with pytest.raises(UnbalancedEntry, match="kept in USD"):
        journal_post(
            kind="test.fx",
            lines=[
                Line(account=account_for(Kind.TRUST_BANK), debit_minor=5, currency="EUR"),
                Line(account=account_for(Kind.REVENUE), credit_minor=5, currency="EUR"),
            ],
            memo="fx",
            by=books.bill,
        )


def test_client_accounts_need_their_client_and_the_matter_must_be_theirs(books: Cast) -> None:
    with pytest.raises(ValueError, match="belongs to a client"):
        account_for(Kind.CLIENT_TRUST)
    with pytest.raises(ValueError, match="another client"):
        account_for(Kind.CLIENT_TRUST, client=books.dan, matter=books.m1)
    assert account_for(Kind.CLIENT_TRUST, matter=books.m1).client == books.carol


def test_balances_on_any_day_agree_with_the_lines_across_months(books: Cast) -> None:
    from datetime import date

    from django.db.models import F, Sum

    trust_bank = account_for(Kind.TRUST_BANK)
    days = [date(2026, 1, 10), date(2026, 1, 31), date(2026, 2, 5), date(2026, 3, 1)]
    for n, day in enumerate(days, start=1):
        journal_post(
            kind="test.day",
            lines=[
                Line.debit(trust_bank, Money(n * 100)),
                Line.credit(account_for(Kind.CLIENT_TRUST, client=books.carol, matter=books.m1), Money(n * 100)),
            ],
            memo="day",
            by=books.bill,
            occurred_on=day,
        )

    for as_of in [date(2026, 1, 9), *days, date(2026, 2, 4), date(2026, 2, 28), date(2026, 12, 31), None]:
        lines = JournalLine.objects.filter(account=trust_bank)
        if as_of is not None:
            lines = lines.filter(occurred_on__lte=as_of)
        expected = lines.aggregate(net=Sum(F("debit_minor") - F("credit_minor")))["net"] or 0
        assert net_debit(trust_bank, as_of) == Money(expected), as_of
    assert balance(trust_bank, date(2026, 2, 4)) == Money(300)
