"""The double-entry ledger: accounts, journal entries and lines, balances (SPEC §7)."""
