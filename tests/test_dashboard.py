"""The staff home page: a panel per thing waiting for this person, by role, each count matching the list it
links to (issue 11 item 2). In-process on the shared cast."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape as html_unescape
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from core.work import deadline_create, task_create

if TYPE_CHECKING:
    from django.test import Client

    from tests.support.cast import Cast

pytestmark = pytest.mark.django_db


def _panels(client: Client) -> dict[str, tuple[int, str, str]]:
    """Each panel on the home page: its count, the list it links to, and its text."""
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    found = {}
    for key, body in re.findall(
        r'<section class="card panel" data-testid="panel-([a-z_]+)".*?>(.*?)</section>', html, re.S
    ):
        count = int(re.search(r'data-testid="count-[a-z_]+">(\d+)<', body).group(1))  # type: ignore[union-attr]
        link = re.search(r'<h2[^>]*><a href="([^"]+)"', body).group(1)  # type: ignore[union-attr]
        found[key] = (count, link.replace("&amp;", "&"), html_unescape(re.sub(r"<[^>]+>|\s+", " ", body)))
    return found


def test_each_role_sees_its_own_panels_with_counts_and_working_links(cast: Cast) -> None:
    from tests.support.casework import upload

    with cast.firm.tenant:
        upload(cast.m1, "passport", cast.carol)
        task_create(
            title="Prepare the cover letter",
            by=cast.arthur,
            matter=cast.m1,
            assignee=cast.pete,
            due_on=timezone.localdate() + timedelta(days=2),
        )
        deadline_create(
            matter=cast.m1,
            by=cast.arthur,
            kind="biometrics",
            title="Carol's biometrics",
            due_at=timezone.now() + timedelta(days=3),
        )

    pete = cast.firm.client(cast.pete)
    panels = _panels(pete)
    assert {"review", "tasks", "deadlines"} <= set(panels)
    assert not {"overdue", "drafts", "trust_approvals", "low_trust", "unbilled"} & set(panels)  # not his role
    count, link, text = panels["review"]
    assert count >= 1
    assert "2025-0001" in text
    assert pete.get(link).status_code == 200
    count, link, text = panels["tasks"]
    assert "Prepare the cover letter" in text
    assert count == 1
    assert pete.get(link).status_code == 200
    count, link, text = panels["deadlines"]
    assert count == 1
    assert "Carol's biometrics" in text
    assert "Carol's biometrics" in html_unescape(pete.get(link).content.decode())

    # Anna works on no matter: nothing of M1's reaches her home page.
    anna_panels = _panels(cast.firm.client(cast.anna))
    assert anna_panels["review"][0] == 0
    assert "2025-0001" not in anna_panels["review"][2]
    assert anna_panels["deadlines"][0] == 0


def test_billing_staff_see_overdue_invoices_drafts_and_unbilled_time(cast: Cast) -> None:
    from billing.fees.models import FeeTemplate
    from billing.invoices.models import Invoice
    from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue

    with cast.firm.tenant:
        invoice = invoice_create(matter=cast.m2, by=cast.alice)
        invoice_add_fee(invoice=invoice, template=FeeTemplate.objects.get(code="PET-FLAT"))
        invoice = invoice_issue(invoice=invoice, by=cast.alice)
        Invoice.objects.filter(pk=invoice.pk).update(due_on=timezone.localdate() - timedelta(days=12))
        draft = invoice_create(matter=cast.m1, by=cast.alice)
        Invoice.objects.filter(pk=draft.pk).update(needs_review=True)

    bill = cast.firm.client(cast.bill)
    panels = _panels(bill)
    assert {"overdue", "drafts", "unbilled"} <= set(panels)
    count, link, text = panels["overdue"]
    assert count == 1
    assert f"#{invoice.number}" in text
    assert "12 days late" in text
    assert bill.get(link).status_code == 200
    count, link, text = panels["drafts"]
    assert count == 1
    assert "2025-0001" in text
    drafts = bill.get(link)
    assert drafts.status_code == 200
    assert f'href="/staff/billing/invoices/{draft.pk}/"' in drafts.content.decode()
    # The firm admin approves trust requests; the clerk who keeps the books does not.
    assert "trust_approvals" in _panels(cast.firm.client(cast.alice))


def test_a_client_goes_to_her_matters_not_the_dashboard(cast: Cast) -> None:
    response = cast.firm.client(cast.carol).get("/")
    assert response.status_code == 302
    assert response["Location"].endswith("/portal/matters/")
