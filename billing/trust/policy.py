"""Changing the firm's billing policy: its currency, the trust thresholds, applying trust, the partial-payment minimum.

The currency lives on the firm's own settings (``core.models.FirmSettings``),
the thresholds on ``TrustSettings`` in minor units of that currency; both are
entered and audited as amounts of money.
"""

from __future__ import annotations

from billing.inputs import check_currency, refuse
from billing.locks import money_transaction
from billing.money import Money
from billing.trust.models import TrustSettings
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import FirmSettings, User


def _threshold(amount: Money, *, currency: str, field: str) -> int:
    if not isinstance(amount, Money) or amount.currency != currency:
        raise refuse(field, f"Enter the threshold in {currency}.")
    if amount.minor < 0:
        raise refuse(field, "Thresholds cannot be negative.")
    return amount.minor


@money_transaction
def trust_settings_update(
    *,
    by: User,
    currency: str,
    two_approver_threshold: Money,
    low_balance: Money,
    apply_trust_to_invoices: bool,
    partial_payment_minimum: Money | None = None,
) -> TrustSettings:
    """Change the firm's trust policy (audited with the old and new values)."""
    currency = check_currency(currency)
    firm = FirmSettings.objects.select_for_update().get(pk=FirmSettings.load().pk)
    settings = TrustSettings.objects.select_for_update().get(pk=TrustSettings.load().pk)
    two_approvers = _threshold(two_approver_threshold, currency=currency, field="two_approver_threshold")
    low = _threshold(low_balance, currency=currency, field="low_balance")
    minimum = (
        settings.partial_payment_minimum_minor
        if partial_payment_minimum is None
        else _threshold(partial_payment_minimum, currency=currency, field="partial_payment_minimum")
    )
    before = {
        "currency": firm.currency,
        "two_approver_threshold_minor": settings.two_approver_threshold_minor,
        "low_balance_minor": settings.low_balance_minor,
        "apply_trust_to_invoices": settings.apply_trust_to_invoices,
        "partial_payment_minimum_minor": settings.partial_payment_minimum_minor,
    }
    if firm.currency != currency:
        firm.currency = currency
        firm.save(update_fields=["currency", "updated"])
    settings.two_approver_threshold_minor = two_approvers
    settings.low_balance_minor = low
    settings.apply_trust_to_invoices = apply_trust_to_invoices
    settings.partial_payment_minimum_minor = minimum
    settings.save()
    after = {
        "currency": firm.currency,
        "two_approver_threshold_minor": settings.two_approver_threshold_minor,
        "low_balance_minor": settings.low_balance_minor,
        "apply_trust_to_invoices": settings.apply_trust_to_invoices,
        "partial_payment_minimum_minor": settings.partial_payment_minimum_minor,
    }
    audit_record(AuditAction.TRUST_SETTINGS_UPDATE, actor=by, target=settings, data={"before": before, "after": after})
    return settings
