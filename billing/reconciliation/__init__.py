"""Bank statements of the trust account, matching them to the ledger, and three-way reconciliation."""
