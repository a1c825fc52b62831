"""The staff pages of online payments in Spanish (issue 12 item 7, SPEC §1): for a staff member whose language is
Spanish, the payments list, a payment's page (a declined installment's reason, a dispute with its answer forms),
the plans list and a plan's page, and the monthly fee statement show no English text of their own.

Real parts: localstripe (PyPI) holds the PaymentIntents and declines the card that is
declined when charged; the recording front of ``tests/support/stripe.py`` stands in for
Connect and holds the dispute (localstripe has neither). Stripe's own ids and codes
(``pi_…``, ``needs_response``) are Stripe's words and stay as they are.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.utils import timezone

from billing.money import Money
from billing.stripe.plans import installments_charge_due
from core.models import User
from tests.support.cast import Cast
from tests.support.stripe import StripeFront, dispute, event
from tests.test_payment_plans import CHARGE_DECLINED, accept, offer
from tests.test_stripe_payments import connect_both, pay_retainer, post_event

# English text of these pages' own (their templates' words); none may be left for a Spanish reader.
ENGLISH = (
    "Online payments",
    "All online payments",
    "State",
    "Account",
    "Client",
    "Matter",
    "Amount",
    "Refunded",
    "Refund",
    "Request a retainer",
    "Show",
    "All",
    "Started",
    "Connected account",
    "Paid",
    "Disputed",
    "Dispute",
    "Reason",
    "Evidence due",
    "Document from the matter",
    "Submit the evidence to Stripe",
    "Accept the dispute",
    "Ledger entries",
    "Stripe events",
    "Audit",
    "Nothing recorded.",
    "Payment plans",
    "Installments",
    "Last decline",
    "Cancel the plan",
    "All payment plans",
    "Month",
    "Download CSV",
    "Dispute fee",
    "Not repaid yet.",
    "Needs a response",
    "Declined",
    "Declined, will retry",
    "Trust",
    "Operating",
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style", "code")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style", "code")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.nodes.extend(part.strip() for part in re.split(r"[·:()\n]", data) if part.strip())


def _english_left(page: str) -> set[str]:
    parser = _Text()
    parser.feed(page)
    return set(ENGLISH) & set(parser.nodes)


def test_a_spanish_speaking_billing_clerk_reads_the_payment_pages_in_spanish(
    cast: Cast, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    payment, intent = pay_retainer(cast, stripe_front, trust, Money(400_00))
    opened = dispute(intent, amount=100_00, fee=15_00, id="dp_spanish")
    stripe_front.disputes["dp_spanish"] = {**opened, "_account": trust}
    assert post_event(event("charge.dispute.created", opened, account=trust)).outcome == "applied"
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan, card=CHARGE_DECLINED)
    with cast.firm.tenant:
        assert installments_charge_due(today=timezone.localdate()) == {"declined": 1}
        declined = plan.installments.get(number=1).payment
        assert declined is not None
        User.objects.filter(pk=cast.bill.pk).update(preferred_language="es")
    bill = cast.client_of(cast.bill)
    month = timezone.localdate().strftime("%Y-%m")

    pages = {
        "list": bill.get("/staff/billing/online-payments/").content.decode(),
        "retainer": bill.get(f"/staff/billing/online-payments/{payment.pk}/").content.decode(),
        "declined": bill.get(f"/staff/billing/online-payments/{declined.pk}/").content.decode(),
        "plans": bill.get("/staff/billing/plans/").content.decode(),
        "plan": bill.get(f"/staff/billing/plans/{plan.pk}/").content.decode(),
        "fees": bill.get(f"/staff/billing/fee-statement/?month={month}").content.decode(),
    }
    assert {name: _english_left(page) for name, page in pages.items()} == {key: set() for key in pages}
    assert "Pagos en línea" in pages["list"]
    # The check sees English where there is some: the same pages for the firm admin, who reads English.
    english = cast.client_of(cast.alice)
    assert {"Online payments", "Trust", "Operating", "Refund"} <= _english_left(
        english.get("/staff/billing/online-payments/").content.decode()
    )
    assert {"Dispute", "Needs a response", "Submit the evidence to Stripe"} <= _english_left(
        english.get(f"/staff/billing/online-payments/{payment.pk}/").content.decode()
    )
    assert "Disputa" in pages["retainer"]
    assert "Requiere respuesta" in pages["retainer"]
    assert "Enviar las pruebas a Stripe" in pages["retainer"]
    assert "Aceptar la disputa" in pages["retainer"]
    assert f"Pago en línea {declined.pk}: Rechazado" in pages["declined"]
    assert "La tarjeta fue rechazada:" in pages["declined"]
    assert "Rechazada, se reintentará" in pages["plan"]
    assert "Cancelar el plan" in pages["plan"]
    assert "Estado de comisiones" in pages["fees"]
    assert "Comisión por disputa" in pages["fees"]
    refused = bill.post(
        f"/staff/billing/online-payments/{payment.pk}/dispute/accept/", {}, follow=True
    ).content.decode()
    assert "Marque la casilla para confirmar que el despacho acepta la disputa." in refused
