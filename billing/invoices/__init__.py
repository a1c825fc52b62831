"""Invoices: drafting (by hand, on a matter stage, on a recurring plan), gap-free numbering at issue,
the state machine, manual payments, write-offs, the PDF in the client's language (SPEC §7).

``models`` holds Invoice, InvoiceLine, Payment, WriteOff, RecurringPlan and the
numbering counters; ``services`` the writes (each posting through
``billing.ledger.services.journal_post``); ``pdf`` the rendering. Invoices are
reached through ``billing.access.invoice_for_user``.
"""
