"""Staff workspace: the matters list (search, filters), a matter's page, and temporary access to one.

The matter page shows the checklist, documents with their history, the intake
answers, messages and the timeline; the actions on it (review, stage, message)
are in ``portal.views.staff_casework``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from core import grants
from core.access import grant_for_matter, matter_for_user
from core.matter_search import matters_search
from core.models import Matter
from core.roles import MANAGE_GRANTS
from portal.forms import GrantExpiryForm, GrantForm
from portal.guards import require_staff, signed_in_user, wrong_method
from portal.staff_forms import MatterSearchForm
from portal.views.staff_casework import casework_context


@login_required
def matter_list(request: HttpRequest) -> HttpResponse:
    user = require_staff(request)
    if refused := wrong_method(request, "GET"):
        return refused
    search = MatterSearchForm(request.GET or None)
    criteria = search.cleaned_data if search.is_valid() else {}
    matters = matters_search(user, **criteria)
    page = Paginator(matters, 50).get_page(request.GET.get("page"))
    return render(request, "portal/staff_matters.html", {"page": page, "matters": page.object_list, "search": search})


def _detail(
    request: HttpRequest,
    matter: Matter,
    *,
    grant_form: GrantForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = signed_in_user(request)
    can_manage = user.has_perm(MANAGE_GRANTS)
    context = {
        "matter": matter,
        "can_manage_grants": can_manage,
        "grants": matter.grants.select_related("grantee", "granted_by", "revoked_by").order_by("-created")
        if can_manage
        else [],
        "grant_form": grant_form or GrantForm(),
        "expiry_form": GrantExpiryForm(),
        "error": error,
        **casework_context(matter, user),
    }
    return render(request, "portal/staff_matter.html", context, status=status)


@login_required
def matter_detail(request: HttpRequest, matter_id: int) -> HttpResponse:
    matter = matter_for_user(signed_in_user(request), matter_id)
    require_staff(request)
    if refused := wrong_method(request, "GET"):
        return refused
    return _detail(request, matter)


def _back(matter: Matter) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("portal:staff_matter", kwargs={"matter_id": matter.pk}))


@login_required
def grant_create(request: HttpRequest, matter_id: int) -> HttpResponse:
    matter = matter_for_user(signed_in_user(request), matter_id)
    user = require_staff(request, permission=MANAGE_GRANTS)
    if refused := wrong_method(request, "POST"):
        return refused
    form = GrantForm(request.POST)
    if not form.is_valid():
        return _detail(request, matter, grant_form=form, status=400)
    try:
        grant = grants.grant_create(
            matter=matter,
            grantee=form.cleaned_data["grantee"],
            expires_at=form.cleaned_data["expires_at"],
            reason=form.cleaned_data["reason"],
            by=user,
        )
    except ValidationError as exc:
        return _detail(request, matter, grant_form=form, error=exc.messages[0], status=400)
    messages.success(request, f"{grant.grantee.email} can see this matter until {grant.expires_at:%Y-%m-%d %H:%M} UTC.")
    return _back(matter)


@login_required
def grant_change_expiry(request: HttpRequest, matter_id: int, grant_id: int) -> HttpResponse:
    matter = matter_for_user(signed_in_user(request), matter_id)
    grant = grant_for_matter(matter, grant_id)
    user = require_staff(request, permission=MANAGE_GRANTS)
    if refused := wrong_method(request, "POST"):
        return refused
    form = GrantExpiryForm(request.POST)
    if not form.is_valid():
        return _detail(request, matter, error="Enter the new end of access as a date and time.", status=400)
    try:
        grant = grants.grant_change_expiry(grant=grant, expires_at=form.cleaned_data["expires_at"], by=user)
    except ValidationError as exc:
        return _detail(request, matter, error=exc.messages[0], status=400)
    messages.success(
        request, f"{grant.grantee.email} can now see this matter until {grant.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    return _back(matter)


@login_required
def grant_revoke(request: HttpRequest, matter_id: int, grant_id: int) -> HttpResponse:
    matter = matter_for_user(signed_in_user(request), matter_id)
    grant = grant_for_matter(matter, grant_id)
    user = require_staff(request, permission=MANAGE_GRANTS)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        grant = grants.grant_revoke(grant=grant, by=user)
    except ValidationError as exc:
        return _detail(request, matter, error=exc.messages[0], status=400)
    messages.success(request, f"{grant.grantee.email} no longer has access to this matter.")
    return _back(matter)
