"""Each event is written to the outbox by the service that makes its change, with the documented, id-only payload.

An endpoint subscribed to everything is added first; each test makes one
change through its service and reads the outbox (``WebhookEvent``). The
online-payment events (Stripe) are in tests/test_webhook_stripe_events.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from billing.invoices.services import payment_record
from billing.money import Money
from billing.trust.models import TrustSettings
from billing.trust.services import trust_deposit
from core.documents import document_review
from core.grants import grants_revoke_expired
from core.models import WebhookEndpoint, WebhookEvent
from core.stages import matter_advance_stage
from core.webhooks import EVENT_TYPES, endpoint_secret_new, event_emit
from tests.support.billing import issued
from tests.support.casework import answer_i130, upload
from tests.support.cast import Cast

# Personal data an event must never carry (the cast's names and emails).
PERSONAL = ("Carol", "Diaz", "@acme.test", "Olga")


@pytest.fixture
def books_with_endpoint(books: Cast) -> Cast:
    WebhookEndpoint.objects.create(url="https://hooks.acme.test/all", secret=endpoint_secret_new())
    return books


def _emitted(type: str) -> list[dict[str, Any]]:
    found = [event.payload for event in WebhookEvent.objects.filter(type=type).order_by("id")]
    for payload in found:
        assert not any(word in str(payload) for word in PERSONAL), payload
    return [payload["data"] for payload in found]


def test_every_documented_event_type_is_emitted_somewhere() -> None:
    """The event list, the documentation table and the services agree (a type nobody emits is a lie)."""
    import pathlib
    import re

    from django.conf import settings

    sources = "".join(
        path.read_text()
        for package in ("core", "billing")
        for path in pathlib.Path(settings.BASE_DIR, package).rglob("*.py")
        if "migrations" not in path.parts and path.parts[-2:] != ("webhooks", "events.py")
    )
    emitted = set(re.findall(r'type="([a-z_]+\.[a-z_]+)"', sources)) | set(
        re.findall(r'online_payment_event\("([a-z_.]+)"', sources)
    )
    from core.webhooks import events

    documented = set(re.findall(r"``([a-z_]+\.[a-z_]+)``", events.__doc__ or ""))
    assert set(EVENT_TYPES) == documented
    assert set(EVENT_TYPES) - emitted == set()


def test_an_unknown_event_type_is_refused(books_with_endpoint: Cast) -> None:
    with pytest.raises(ValueError, match="unknown webhook event"):
        event_emit(type="matter.exploded", data={})


def test_casework_events(books_with_endpoint: Cast) -> None:
    cast = books_with_endpoint
    matter = cast.m1
    answer_i130(matter, cast.carol)
    document = upload(matter, "passport", cast.carol)
    document_review(document=document, by=cast.paula, decision="accept")

    assert _emitted("intake.completed") == [{"matter": matter.pk, "reference": "2025-0001"}]
    [uploaded] = _emitted("document.uploaded")
    assert uploaded == {
        "document": document.pk,
        "matter": matter.pk,
        "reference": "2025-0001",
        "requirement": "passport",
        "slot": 1,
        "version": 1,
        "content_type": "image/png",
        "size": document.size,
    }
    assert _emitted("document.reviewed") == [
        {
            "document": document.pk,
            "matter": matter.pk,
            "reference": "2025-0001",
            "decision": "accept",
            "reason": "",
            "requirement": "passport",
        }
    ]
    stages = _emitted("matter.stage_changed")  # completing intake moved the matter on
    assert stages
    assert all(set(stage) == {"matter", "reference", "from", "to"} for stage in stages)


def test_a_stage_change_by_hand(books_with_endpoint: Cast) -> None:
    cast = books_with_endpoint
    before = cast.m1.stage.code if cast.m1.stage else None

    moved = matter_advance_stage(matter=cast.m1, by=cast.alice)

    assert _emitted("matter.stage_changed")[-1] == {
        "matter": cast.m1.pk,
        "reference": "2025-0001",
        "from": before,
        "to": moved.stage.code if moved.stage else None,
    }


def test_an_expired_grant(books_with_endpoint: Cast) -> None:
    cast = books_with_endpoint

    grants_revoke_expired(at=timezone.now() + timedelta(days=8))

    expired = _emitted("grant.expired")
    assert {"grant": cast.olga_grant.pk, "matter": cast.m1.pk, "reference": "2025-0001", "grantee": cast.olga.pk} in (
        expired
    )


def test_an_issued_then_paid_invoice_and_its_payment(books_with_endpoint: Cast) -> None:
    cast = books_with_endpoint
    invoice = issued(cast.m1, cast.paula, "PET-FLAT")
    half = Money(invoice.total_minor // 2, invoice.currency)

    first = payment_record(invoice=invoice, method="check", amount=half, by=cast.bill, reference="1001")
    assert _emitted("invoice.paid") == []  # partly paid is not paid
    second = payment_record(
        invoice=invoice, method="wire", amount=Money(invoice.total_minor - half.minor, invoice.currency), by=cast.bill
    )

    common = {"invoice": invoice.pk, "number": invoice.display_number, "matter": cast.m1.pk, "reference": "2025-0001"}
    money = {"total_minor": invoice.total_minor, "currency": invoice.currency}
    assert invoice.due_on is not None
    assert _emitted("invoice.issued") == [{**common, **money, "due_on": invoice.due_on.isoformat()}]
    assert _emitted("invoice.paid") == [{**common, **money}]
    assert _emitted("payment.succeeded") == [
        {**common, "payment": first.pk, "purpose": "invoice", "method": "check", "amount_minor": half.minor,
         "currency": invoice.currency},
        {**common, "payment": second.pk, "purpose": "invoice", "method": "wire",
         "amount_minor": invoice.total_minor - half.minor, "currency": invoice.currency},
    ]  # fmt: skip


def test_a_trust_deposit_and_a_low_balance(books_with_endpoint: Cast) -> None:
    cast = books_with_endpoint
    threshold = TrustSettings.load().low_balance_minor
    deposit = trust_deposit(
        client=cast.carol, matter=cast.m1, amount=Money(threshold + 50_00), method="cash", by=cast.bill
    )
    invoice = issued(cast.m1, cast.paula, "PET-FLAT")  # trust is applied to it when the firm says so
    from billing.invoices.trust import invoice_apply_trust

    invoice_apply_trust(invoice=invoice, by=cast.bill)

    assert _emitted("trust.deposited") == [
        {
            "deposit": deposit.pk,
            "matter": cast.m1.pk,
            "reference": "2025-0001",
            "client": cast.carol.pk,
            "amount_minor": threshold + 50_00,
            "currency": deposit.currency,
            "method": "cash",
            "cleared": True,
        }
    ]
    [low] = _emitted("trust.low_balance")
    assert low["matter"] == cast.m1.pk
    assert low["client"] == cast.carol.pk
    assert low["threshold_minor"] == threshold
    assert low["balance_minor"] < threshold
    [applied] = [p for p in _emitted("payment.succeeded") if p["method"] == "trust"]
    assert applied["invoice"] == invoice.pk


def test_nothing_is_emitted_when_the_change_rolls_back(books_with_endpoint: Cast) -> None:
    cast = books_with_endpoint

    def issue_then_fail() -> None:
        with transaction.atomic():
            issued(cast.m1, cast.paula, "PET-FLAT")
            raise RuntimeError("the change fails after the event was emitted")

    with pytest.raises(RuntimeError):
        issue_then_fail()

    assert _emitted("invoice.issued") == []
