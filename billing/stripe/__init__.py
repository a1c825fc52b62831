"""Online payments through Stripe Connect: the firm's two connected accounts, card payments, refunds, webhooks.

``gateway`` is the only module in Portico that imports ``stripe`` (an
import-linter contract holds it); ``services`` writes, ``webhooks`` applies
signed events from Stripe to the ledger exactly once.
"""
