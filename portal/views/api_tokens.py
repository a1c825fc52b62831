"""The firm admin's API tokens page: issue a token for a staff member (shown once), see and revoke them.

The page and its actions exist only for firm admins (``core.api_tokens``):
anyone else, and any other firm's user, gets 404. Issue and revocation are
audited by the services; so is each use of a token (``api.authentication``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.access import person_by_email
from core.api_tokens import (
    all_scopes,
    integration_for_admin,
    integrations_for_admin,
    token_issue,
    token_revoke,
    tokens_last_used,
)
from core.models import User
from portal.guards import signed_in_user, wrong_method

DEFAULT_DAYS = 90


def _page(request: HttpRequest, admin: User, **context: object) -> dict[str, object]:
    applications = list(integrations_for_admin(admin))
    last_used = tokens_last_used(applications)
    rows = [
        {"application": app, "token": next(iter(app.accesstoken_set.all()), None), "last_used": last_used.get(app.pk)}
        for app in applications
    ]
    form = {"label": "", "user": "", "scopes": [], "days": DEFAULT_DAYS}
    return {"rows": rows, "all_scopes": all_scopes(), "form": form, "errors": {}, **context}


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    admin = signed_in_user(request)
    integrations_for_admin(admin)  # 404 for anyone but a firm admin
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return render(request, "portal/api_tokens.html", _page(request, admin))
    form = {
        "label": request.POST.get("label", ""),
        "user": request.POST.get("user", "").strip(),
        "scopes": request.POST.getlist("scopes"),
        "days": request.POST.get("days", ""),
    }
    errors: dict[str, str] = {}
    holder = person_by_email(str(form["user"]), staff_only=True) if form["user"] else None
    if holder is None:
        errors["user"] = _("No staff member of the firm has this email.")
    days = str(form["days"])
    if not days.isdigit():
        errors["days"] = _("Give the number of days the token lasts.")
    if not errors and holder is not None:
        try:
            issued = token_issue(
                user=holder, label=str(form["label"]), scopes=list(form["scopes"]), days=int(days), by=admin
            )
        except ValidationError as refused_issue:
            errors = {field: " ".join(texts) for field, texts in refused_issue.message_dict.items()}
        else:
            return render(request, "portal/api_tokens.html", _page(request, admin, issued=issued), status=201)
    return render(request, "portal/api_tokens.html", _page(request, admin, form=form, errors=errors), status=400)


@login_required
def token_revoke_view(request: HttpRequest, application_id: int) -> HttpResponse:
    admin = signed_in_user(request)
    application = integration_for_admin(admin, application_id)
    if refused := wrong_method(request, "POST"):
        return refused
    token_revoke(application=application, by=admin)
    messages.success(request, _("The token “%(label)s” was revoked.") % {"label": application.name})
    return HttpResponseRedirect(reverse("portal:api_tokens"))
