"""The intake and portal KPIs: time to intake, complete-intake rate, attorney review time, portal adoption."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from billing.collections.kpis.base import (
    DAYS,
    HOURS,
    PERCENT,
    Cell,
    Kpi,
    KpiRow,
    KpiScope,
    days_between,
    iso,
    mean,
    share,
)
from billing.stripe.models import OnlinePayment
from core.models import Document, Matter, User


def _matter_row(matter: Matter, **cells: Cell) -> KpiRow:
    return KpiRow(
        {"matter": matter.reference, "client": matter.client.get_full_name(), **cells},
        matter_id=matter.pk,
        client_id=matter.client_id,
    )


def time_to_intake(scope: KpiScope) -> Kpi:
    matters = Matter.objects.filter(scope.matters(), **scope.moments("intake_completed_at")).select_related("client")
    rows, days = [], []
    for matter in matters.order_by("intake_completed_at", "id"):
        assert matter.intake_completed_at is not None
        invited = matter.client.invited_at
        waited = days_between(invited, matter.intake_completed_at) if invited is not None else None
        if waited is not None and waited >= 0:
            days.append(waited)
        rows.append(
            _matter_row(matter, invited=iso(invited), intake_completed=iso(matter.intake_completed_at), days=waited)
        )
    return Kpi(
        key="time_to_intake",
        name=str(_("Time to intake")),
        formula=str(
            _(
                "Average, over the matters whose intake questionnaire was completed in the period, of the days from "
                "the client's invitation to the portal (the last one sent) to the completion. A client invited "
                "again after completing, or never invited, is listed and not averaged."
            )
        ),
        unit=DAYS,
        value=mean(days),
        numerator=sum(days),
        denominator=len(days),
        columns=("matter", "client", "invited", "intake_completed", "days"),
        rows=rows,
    )


def complete_intake(scope: KpiScope) -> Kpi:
    matters = list(
        Matter.objects.filter(scope.matters(), **scope.moments("documents_completed_at"))
        .select_related("client")
        .order_by("documents_completed_at", "id")
    )
    first_time = sum(1 for m in matters if m.complete_on_first_submission)
    rows = [
        _matter_row(
            m,
            documents_completed=iso(m.documents_completed_at),
            first_submission="yes" if m.complete_on_first_submission else "no",
        )
        for m in matters
    ]
    return Kpi(
        key="complete_intake",
        name=str(_("Complete-intake rate")),
        formula=str(
            _(
                "Of the matters whose required documents were all accepted in the period: the share where every "
                "required document was accepted on its first submission (no rejection on the way)."
            )
        ),
        unit=PERCENT,
        value=share(first_time, len(matters)),
        numerator=first_time,
        denominator=len(matters),
        columns=("matter", "client", "documents_completed", "first_submission"),
        rows=rows,
    )


def review_time(scope: KpiScope) -> Kpi:
    documents = (
        Document.objects.filter(scope.matters("matter__"), **scope.moments("reviewed_at"))
        .select_related("matter", "reviewed_by")
        .order_by("reviewed_at", "id")
    )
    rows, hours = [], []
    for document in documents:
        assert document.reviewed_at is not None
        waited = round((document.reviewed_at - document.uploaded_at).total_seconds() / 3600, 2)
        hours.append(waited)
        rows.append(
            KpiRow(
                {
                    "matter": document.matter.reference,
                    "document": document.original_filename or document.document_type,
                    "uploaded": iso(document.uploaded_at),
                    "reviewed": iso(document.reviewed_at),
                    "decision": document.status,
                    "reviewer": document.reviewed_by.get_full_name() if document.reviewed_by else "",
                    "hours": waited,
                },
                matter_id=document.matter_id,
            )
        )
    return Kpi(
        key="review_time",
        name=str(_("Attorney review time")),
        formula=str(
            _(
                "Average, over the documents reviewed in the period, of the hours from the client's upload to the "
                "review decision (accepted or rejected), whoever on the firm's staff reviewed it."
            )
        ),
        unit=HOURS,
        value=mean(hours),
        numerator=sum(hours),
        denominator=len(hours),
        columns=("matter", "document", "uploaded", "reviewed", "decision", "reviewer", "hours"),
        rows=rows,
    )


def portal_adoption(scope: KpiScope) -> Kpi:
    after = scope.after
    matters = Matter.objects.filter(scope.matters(), created__lt=after)
    clients = list(User.objects.filter(pk__in=matters.values("client_id")).order_by("full_name", "email"))
    uploaded = set(
        Document.objects.filter(uploaded_by__in=clients, uploaded_at__lt=after).values_list("uploaded_by_id", flat=True)
    )
    paid = set(
        OnlinePayment.objects.filter(client__in=clients, entry__isnull=False, entry__posted_at__lt=after).values_list(
            "client_id", flat=True
        )
    )
    signed_in = {c.pk for c in clients if c.last_login is not None}
    rows = [
        KpiRow(
            {
                "client": c.get_full_name(),
                "signed_in": "yes" if c.pk in signed_in else "no",
                "uploaded": "yes" if c.pk in uploaded else "no",
                "paid_online": "yes" if c.pk in paid else "no",
            },
            client_id=c.pk,
        )
        for c in clients
    ]
    whole = len(clients)
    return Kpi(
        key="portal_adoption",
        name=str(_("Portal adoption")),
        formula=str(
            _(
                "Of the clients with a matter opened by the last day of the period: the share who have signed in to "
                "the portal. Also shown: the share who uploaded a document, and who paid online (an invoice or a "
                "retainer), by that day. Portico keeps each person's last sign-in, not the first, so a client whose "
                "first sign-in came after the period counts as signed in."
            )
        ),
        unit=PERCENT,
        value=share(len(signed_in), whole),
        numerator=len(signed_in),
        denominator=whole,
        columns=("client", "signed_in", "uploaded", "paid_online"),
        rows=rows,
        parts=[
            (str(_("Signed in")), share(len(signed_in), whole)),
            (str(_("Uploaded a document")), share(len(uploaded), whole)),
            (str(_("Paid online")), share(len(paid), whole)),
        ],
    )
