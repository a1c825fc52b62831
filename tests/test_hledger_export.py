"""The hledger export is read by Debian's real hledger, which agrees with Portico on every account balance."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from billing.exports.hledger import format_amount, journal_text
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import net_debit
from billing.ledger.services import Line, journal_post, journal_reverse
from billing.money import Money
from billing.trust.requests import trust_disbursement_request, trust_refund_request, trust_request_approve
from billing.trust.services import trust_apply_to_invoice, trust_deposit
from core.models import Matter, User
from tests.support.cast import Cast

Kind = Account.Kind
HLEDGER = shutil.which("hledger") or "/usr/bin/hledger"


@dataclass
class Invoice:
    pk: int
    client: User
    matter: Matter
    currency: str = "USD"


def _a_month_of_business(books: Cast) -> None:
    today = timezone.localdate()
    carol, dan = books.carol, books.dan
    m1, m2 = books.m1, books.m2
    trust_deposit(
        client=carol, matter=m1, amount=Money(2500_00), method="wire", reference="W-9", by=books.bill, cleared_on=today
    )
    trust_deposit(client=dan, matter=m2, amount=Money(780_25), method="cash", by=books.bill)
    trust_deposit(client=dan, matter=m2, amount=Money(100_00), method="check", reference="CHK 5", by=books.bill)
    receivable = account_for(Kind.RECEIVABLE, client=carol, matter=m1)
    journal_post(
        kind="invoice.issue",
        lines=[
            Line.debit(receivable, Money(1200_00)),
            Line.credit(account_for(Kind.REVENUE, billing_code="PETITION"), Money(1000_00)),
            Line.credit(account_for(Kind.REVENUE, billing_code="CONSULT"), Money(200_00)),
        ],
        memo="Invoice 2026-0001; petition & consult | flat",
        by=books.bill,
    )
    trust_apply_to_invoice(invoice_like=Invoice(pk=1, client=carol, matter=m1), amount=Money(1200_00), by=books.bill)
    fee = journal_post(
        kind="processor.fee",
        lines=[
            Line.debit(account_for(Kind.PROCESSOR_FEES), Money(3_15)),
            Line.credit(account_for(Kind.OPERATING_BANK), Money(3_15)),
        ],
        memo="card fee",
        by=books.bill,
    )
    journal_reverse(entry=fee, by=books.alice, memo="fee charged to the wrong account")
    request = trust_disbursement_request(
        client=carol, matter=m1, amount=Money(535_00), payee="USCIS", purpose="I-130", by=books.bill
    )
    trust_request_approve(request=request, by=books.paula)
    refund = trust_refund_request(client=dan, matter=m2, amount=Money(80_25), purpose="overpaid", by=books.bill)
    trust_request_approve(request=refund, by=books.alice)
    journal_post(
        kind="writeoff",
        lines=[
            Line.debit(account_for(Kind.WRITE_OFFS), Money(50_00)),
            Line.credit(account_for(Kind.RECEIVABLE, client=books.dan, matter=books.m2), Money(50_00)),
        ],
        memo="goodwill write-off",
        by=books.alice,
    )


def _hledger_balances(journal: Path) -> dict[str, Decimal]:
    result = subprocess.run(
        [HLEDGER, "-f", str(journal), "balance", "-N", "--flat", "--empty", "--output-format=csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["account", "balance"]
    balances: dict[str, Decimal] = {}
    for account, amount in rows[1:]:
        number, _, commodity = amount.partition(" ")
        assert commodity in ("USD", ""), amount
        balances[account] = Decimal(number)
    return balances


def test_hledger_reads_the_export_and_agrees_on_every_account_balance(books: Cast, tmp_path: Path) -> None:
    _a_month_of_business(books)
    journal = tmp_path / "export.journal"
    journal.write_text(journal_text(), encoding="utf-8")

    theirs = _hledger_balances(journal)

    accounts = list(Account.objects.filter(lines__isnull=False).distinct())
    ours = {account.name: net_debit(account).as_decimal() for account in accounts}
    assert len(ours) >= 10
    assert theirs == ours


def test_hledger_checks_that_every_transaction_balances(books: Cast, tmp_path: Path) -> None:
    _a_month_of_business(books)
    journal = tmp_path / "export.journal"
    journal.write_text(journal_text(), encoding="utf-8")

    result = subprocess.run([HLEDGER, "-f", str(journal), "print", "--explicit"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "USCIS" in result.stdout


def test_amounts_are_written_with_the_currencys_minor_digits() -> None:
    assert format_amount(-12345, "USD") == "-123.45 USD"
    assert format_amount(5, "USD") == "0.05 USD"
    assert format_amount(1500, "JPY") == "1500 JPY"
    assert format_amount(1234, "KWD") == "1.234 KWD"
