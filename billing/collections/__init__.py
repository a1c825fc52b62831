"""Collections (SPEC §8, issue 13): who owes the firm what, reminding them, and matters at risk.

* ``aging`` — receivables in aging buckets (current, 1-30, 31-60, 61-90, 90+ days past
  due) as of any day, per client, matter or responsible attorney, read from the
  receivable lines of the ledger so the totals are the ledger's to the cent.
* ``models`` — the firm's reminder tiers (data, editable), the one row per invoice and
  tier that makes each tier fire once, the firm's collections settings, paused clients.
* ``reminders`` — which tiers are due on which invoices (and which are skipped, why),
  firing one (row and queued send in one transaction), sending it.
* ``at_risk`` — overdue balances on matters with a checklist item due soon.
* ``kpis`` — the collections and intake KPIs: value, formula in words, the rows behind
  it, over a period filtered by attorney and matter type, and its trend.
* ``charts`` — a KPI's trend drawn by matplotlib: accessible SVG, PNG for email.
* ``report`` — the KPI report (the page's PDF) and the weekly partner report by email.
* ``tasks`` — the beat jobs that fan out per firm (reminders; the partner report), and
  the send task per reminder.
"""
