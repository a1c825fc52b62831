"""The double-entry ledger: accounts, journal entries and lines, balances (SPEC §7).

Public interface (everything else in billing posts through it):

* ``billing.ledger.accounts.account_for(kind, *, client=None, matter=None, billing_code="", currency=None)``
  — the chart of accounts, opened on first use (``Account.Kind``: operating bank,
  trust bank, client trust, receivable, revenue, processor fees, write-offs, client credit);
* ``billing.ledger.services.journal_post(*, kind, lines, memo, by, source=None, occurred_on=None)``
  with ``Line.debit(account, Money)`` / ``Line.credit(account, Money)``, and
  ``journal_reverse(*, entry, by, memo)`` — one balanced, audited entry per business event;
  trust postings dated in a reconciled month (``ClosedMonth``) are refused;
* ``billing.ledger.selectors.balance(account, as_of=None)`` (normal side, ``Money``),
  ``line_balance`` (from the lines alone: what money checks read), ``net_debit``,
  ``balances_by_account``, ``kind_total``, ``unbalanced_entries``;
* ``billing.ledger.verify.ledger_verify(tenant=...)`` — ``portico ledger verify``.

The database itself refuses an unbalanced entry (a deferred constraint trigger
checks debits = credits per currency at commit) and any UPDATE or DELETE of a
posted entry or line (``billing/migrations/0002_ledger_triggers.py``), lines added
to a posted entry, truncation, and direct writes to the monthly totals (``0008``).
"""
