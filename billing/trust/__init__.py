"""Client trust money: deposits, applications to invoices, disbursements and refunds under approval."""
