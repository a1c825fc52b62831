"""The access review page and its CSV export (firm admins and partners).

Names, titles and grant reasons are typed by people, so every CSV cell that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first)
is prefixed with ``'`` (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from core.access_review import UserAccess, access_review
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.roles import VIEW_ACCESS_REVIEW
from portal.guards import require_staff, wrong_method

CSV_COLUMNS = [
    "email",
    "name",
    "roles",
    "active",
    "staff",
    "two_factor",
    "last_login",
    "matter_reference",
    "matter_title",
    "access_via",
    "grant_expires_at",
]


@login_required
def access_review_page(request: HttpRequest) -> HttpResponse:
    require_staff(request, permission=VIEW_ACCESS_REVIEW)
    if refused := wrong_method(request, "GET"):
        return refused
    rows = access_review()
    return render(request, "portal/access_review.html", {"rows": rows, "as_of": timezone.now()})


# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """The cell as text a spreadsheet shows rather than runs: a leading formula character gets a ``'`` first."""
    return f"'{value}" if value.startswith(FORMULA_LEADS) else value


def _iso(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def csv_rows(rows: list[UserAccess]) -> Iterator[list[str]]:
    """One line per user and matter they reach; a user who reaches none still has one line (cells spreadsheet-safe)."""
    yield CSV_COLUMNS
    for line in _lines(rows):
        yield [spreadsheet_safe(cell) for cell in line]


def _lines(rows: list[UserAccess]) -> Iterator[list[str]]:
    for row in rows:
        user = row.user
        person = [
            user.email,
            user.full_name,
            "; ".join(role.value for role in row.roles),
            "yes" if user.is_active else "no",
            "yes" if user.is_staff else "no",
            "yes" if row.two_factor else "no",
            _iso(user.last_login),
        ]
        if not row.matters:
            yield [*person, "", "", "", ""]
        for access in row.matters:
            yield [*person, access.matter.reference, access.matter.title, access.why, _iso(access.grant_expires_at)]


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def access_review_csv(request: HttpRequest) -> HttpResponseBase:
    user = require_staff(request, permission=VIEW_ACCESS_REVIEW)
    if refused := wrong_method(request, "GET"):
        return refused
    as_of = timezone.now()
    rows = access_review(at=as_of)
    audit_record(
        AuditAction.ACCESS_REVIEW_EXPORTED,
        actor=user,
        data={"format": "csv", "users": len(rows), "as_of": as_of.isoformat()},
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(line) for line in csv_rows(rows)), content_type="text/csv")
    tenant_slug = getattr(request, "tenant").slug  # noqa: B009
    response["Content-Disposition"] = f'attachment; filename="access-review-{tenant_slug}-{as_of:%Y-%m-%d}.csv"'
    return response
