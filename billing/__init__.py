"""Fees, invoices, the double-entry trust ledger, payments and reports (SPEC §7 and §8)."""
