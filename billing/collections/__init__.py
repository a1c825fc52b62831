"""Collections (SPEC §8, issue 13): who owes the firm what, reminding them, and matters at risk.

* ``aging`` — receivables in aging buckets (current, 1-30, 31-60, 61-90, 90+ days past
  due) as of any day, per client, matter or responsible attorney, read from the
  receivable lines of the ledger so the totals are the ledger's to the cent.
* ``models`` — the firm's reminder tiers (data, editable), the one row per invoice and
  tier that makes each tier fire once, the firm's collections settings, paused clients.
* ``reminders`` — which tiers are due on which invoices (and which are skipped, why),
  firing one (row and queued send in one transaction), sending it.
* ``at_risk`` — overdue balances on matters with a checklist item due soon.
* ``tasks`` — the beat job that fans out per firm, and the send task per reminder.
"""
