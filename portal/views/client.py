"""The client portal: a client's (or outside counsel's) own matters."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.access import matter_for_user, matters_for_user
from portal.guards import signed_in_user, wrong_method


@login_required
def matter_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if refused := wrong_method(request, "GET"):
        return refused
    matters = matters_for_user(user).select_related("responsible_attorney")
    return render(request, "portal/client_matters.html", {"matters": matters})


@login_required
def matter_detail(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    if refused := wrong_method(request, "GET"):
        return refused
    grant = matter.grants.filter(grantee=user, revoked_at__isnull=True).first()
    return render(request, "portal/client_matter.html", {"matter": matter, "grant": grant})
