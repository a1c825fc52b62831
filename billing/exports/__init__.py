"""Exports of the ledger: an hledger journal."""
