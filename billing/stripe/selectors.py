"""Reads for online payments."""

from __future__ import annotations

from billing.stripe.models import ConnectedAccount


def online_payment_available(kind: str) -> bool:
    """Whether the firm's ``kind`` account is enabled at Stripe, so clients may pay into it."""
    return ConnectedAccount.objects.filter(
        kind=kind, status=ConnectedAccount.Status.ENABLED, stripe_account_id__isnull=False
    ).exists()
