"""The firm admin's webhooks page: add an endpoint (its signing secret shown once), turn one off, the delivery log.

Only firm admins reach it (``core.webhooks``); anyone else, and any other
firm's user, gets 404. Adding and turning off are audited by the services.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.models import User, WebhookEndpoint
from core.webhooks import (
    EVENT_TYPES,
    deliveries_for_admin,
    endpoint_create,
    endpoint_disable,
    endpoint_for_admin,
    endpoints_for_admin,
)
from portal.guards import signed_in_user, wrong_method


def _page(admin: User, **context: object) -> dict[str, object]:
    return {
        "endpoints": list(endpoints_for_admin(admin)),
        "deliveries": deliveries_for_admin(admin),
        "event_types": EVENT_TYPES,
        "form": {"url": "", "events": []},
        "errors": {},
        **context,
    }


@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    admin = signed_in_user(request)
    endpoints_for_admin(admin)  # 404 for anyone but a firm admin
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return render(request, "portal/webhooks.html", _page(admin))
    form = {"url": request.POST.get("url", ""), "events": request.POST.getlist("events")}
    try:
        created: WebhookEndpoint = endpoint_create(url=str(form["url"]), events=list(form["events"]), by=admin)
    except ValidationError as refused_create:
        errors = {name: " ".join(texts) for name, texts in refused_create.message_dict.items()}
        return render(request, "portal/webhooks.html", _page(admin, form=form, errors=errors), status=400)
    return render(request, "portal/webhooks.html", _page(admin, created=created), status=201)


@login_required
def endpoint_disable_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    admin = signed_in_user(request)
    endpoint = endpoint_for_admin(admin, endpoint_id)
    if refused := wrong_method(request, "POST"):
        return refused
    endpoint_disable(endpoint=endpoint, by=admin)
    messages.success(request, _("Nothing more will be sent to %(url)s.") % {"url": endpoint.url})
    return HttpResponseRedirect(reverse("portal:webhooks"))
