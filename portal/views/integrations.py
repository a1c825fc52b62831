"""The firm admin's integrations page (under firm settings): register an OAuth client, see its secret once, revoke it.

Only firm admins (``core.integrations``): anyone else, and any other firm's
user, gets 404. Registration and revocation are audited by the services, and
each token the client gets and every use of one by ``api.oauth`` and
``api.authentication``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.api_tokens import all_scopes
from core.integrations import (
    RegisteredIntegration,
    integration_for_admin,
    integration_register,
    integration_revoke,
    integrations_for_admin,
    integrations_last_used,
)
from core.models import User
from portal.guards import signed_in_user, wrong_method

TEMPLATE = "portal/integrations.html"


def _page(
    request: HttpRequest,
    admin: User,
    *,
    registered: RegisteredIntegration | None = None,
    form: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, object]:
    integrations = list(integrations_for_admin(admin))
    last_used = integrations_last_used(integrations)
    return {
        "rows": [{"integration": one, "last_used": last_used.get(one.pk)} for one in integrations],
        "all_scopes": all_scopes(),
        "form": form or {"name": "", "scopes": []},
        "errors": errors or {},
        "registered": registered,
        "token_url": request.build_absolute_uri(reverse("oauth_token")),
    }


@login_required
def integration_list(request: HttpRequest) -> HttpResponse:
    admin = signed_in_user(request)
    integrations_for_admin(admin)  # 404 for anyone but a firm admin
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return render(request, TEMPLATE, _page(request, admin))
    form: dict[str, object] = {"name": request.POST.get("name", ""), "scopes": request.POST.getlist("scopes")}
    try:
        registered = integration_register(name=str(form["name"]), scopes=request.POST.getlist("scopes"), by=admin)
    except ValidationError as refused_registration:
        said = refused_registration.message_dict
        errors = {field: " ".join(_(text) for text in texts) for field, texts in said.items()}
        return render(request, TEMPLATE, _page(request, admin, form=form, errors=errors), status=400)
    return render(request, TEMPLATE, _page(request, admin, registered=registered), status=201)


@login_required
def integration_revoke_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    admin = signed_in_user(request)
    integration = integration_for_admin(admin, integration_id)
    if refused := wrong_method(request, "POST"):
        return refused
    name = integration.application.name
    integration_revoke(integration=integration, by=admin)
    messages.success(request, _("The integration “%(name)s” was revoked; its tokens no longer work.") % {"name": name})
    return HttpResponseRedirect(reverse("portal:integrations"))
