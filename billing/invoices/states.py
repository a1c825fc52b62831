"""The invoice state machine: which states follow which, and the state an invoice's amounts imply.

    draft ──issue──▶ issued ──pay──▶ partially paid ──pay──▶ paid
      │                │  ╲                │  ╲
      └──void──▶ void ◀┘   ╲──write off──▶ written off ◀──┘

A draft may be voided; an issued invoice only while nothing was paid, credited
or written off. Void and written off are final.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from billing.invoices.models import Invoice

S = Invoice.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.ISSUED, S.VOID}),
    S.ISSUED: frozenset({S.ISSUED, S.PARTIALLY_PAID, S.PAID, S.VOID, S.WRITTEN_OFF}),
    S.PARTIALLY_PAID: frozenset({S.PARTIALLY_PAID, S.PAID, S.WRITTEN_OFF, S.ISSUED}),
    S.PAID: frozenset({S.PAID}),
    S.WRITTEN_OFF: frozenset({S.WRITTEN_OFF}),
    S.VOID: frozenset(),
}


class InvalidTransition(ValidationError):
    pass


def implied_status(invoice: Invoice) -> str:
    """What the amounts say: nothing settled → issued; some → partially paid; all → paid or written off."""
    if invoice.balance_due_minor <= 0:
        return S.WRITTEN_OFF if invoice.written_off_minor and invoice.status != S.PAID else S.PAID
    settled = invoice.total_minor - invoice.balance_due_minor
    return S.PARTIALLY_PAID if settled > 0 else S.ISSUED


def settle(invoice: Invoice, *, to: str | None = None) -> None:
    """Move ``invoice`` to ``to`` (or to the state its amounts imply), refusing a move the machine forbids."""
    target = to or implied_status(invoice)
    if target not in TRANSITIONS[invoice.status]:
        raise InvalidTransition(
            f"{invoice} cannot go from {invoice.get_status_display().lower()} to {S(target).label.lower()}"
        )
    paid_now = target == Invoice.Status.PAID and invoice.status != Invoice.Status.PAID
    invoice.status = target
    if paid_now:
        from billing.events import invoice_paid

        invoice_paid(invoice)
