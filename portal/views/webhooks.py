"""The firm admin's webhooks pages: endpoints (a new signing secret shown once), each endpoint's delivery log.

Only firm admins reach them (``core.webhooks.endpoints``); anyone else, and
any other firm's user, gets 404. Adding, changing, turning off, rotating the
secret and replaying a delivery are audited by the services.
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
    delivery_for_admin,
    delivery_replay,
    endpoint_create,
    endpoint_disable,
    endpoint_for_admin,
    endpoint_secret_rotate,
    endpoint_update,
    endpoints_for_admin,
    request_body,
)
from portal.guards import signed_in_user, wrong_method


def _errors(refused: ValidationError) -> dict[str, str]:
    return {name: " ".join(texts) for name, texts in refused.message_dict.items()}


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
        return render(
            request, "portal/webhooks.html", _page(admin, form=form, errors=_errors(refused_create)), status=400
        )
    return render(request, "portal/webhooks.html", _page(admin, created=created), status=201)


def _endpoint_page(admin: User, endpoint: WebhookEndpoint, **context: object) -> dict[str, object]:
    deliveries = deliveries_for_admin(admin, endpoint=endpoint)
    return {
        "endpoint": endpoint,
        "log": [(delivery, request_body(delivery.event)) for delivery in deliveries],
        "event_types": EVENT_TYPES,
        "form": {"url": endpoint.url, "events": endpoint.events, "active": endpoint.active},
        "errors": {},
        **context,
    }


@login_required
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """GET: the endpoint and its delivery log; POST: change its address, events, or turn it back on."""
    admin = signed_in_user(request)
    endpoint = endpoint_for_admin(admin, endpoint_id)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return render(request, "portal/webhook_endpoint.html", _endpoint_page(admin, endpoint))
    url, events, active = (
        request.POST.get("url", ""),
        request.POST.getlist("events"),
        request.POST.get("active") == "on",
    )
    form = {"url": url, "events": events, "active": active}
    try:
        endpoint_update(endpoint=endpoint, url=url, events=events, active=active, by=admin)
    except ValidationError as refused_update:
        endpoint.refresh_from_db()
        page = _endpoint_page(admin, endpoint, form=form, errors=_errors(refused_update))
        return render(request, "portal/webhook_endpoint.html", page, status=400)
    messages.success(request, _("The endpoint was saved."))
    return HttpResponseRedirect(reverse("portal:webhook", args=[endpoint.pk]))


@login_required
def endpoint_disable_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    admin = signed_in_user(request)
    endpoint = endpoint_for_admin(admin, endpoint_id)
    if refused := wrong_method(request, "POST"):
        return refused
    endpoint_disable(endpoint=endpoint, by=admin)
    messages.success(request, _("Nothing more will be sent to %(url)s.") % {"url": endpoint.url})
    return HttpResponseRedirect(reverse("portal:webhooks"))


@login_required
def endpoint_rotate_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """A new signing secret, shown once on the page this answers with; the old one signs too for a day."""
    admin = signed_in_user(request)
    endpoint = endpoint_for_admin(admin, endpoint_id)
    if refused := wrong_method(request, "POST"):
        return refused
    secret = endpoint_secret_rotate(endpoint=endpoint, by=admin)
    endpoint.refresh_from_db()
    return render(request, "portal/webhook_endpoint.html", _endpoint_page(admin, endpoint, new_secret=secret))


@login_required
def delivery_replay_view(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    admin = signed_in_user(request)
    endpoint = endpoint_for_admin(admin, endpoint_id)
    delivery = delivery_for_admin(admin, endpoint, delivery_id)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        delivery_replay(delivery=delivery, by=admin)
    except ValidationError as refused_replay:
        messages.error(request, " ".join(refused_replay.messages))
    else:
        messages.success(request, _("The event will be sent again."))
    return HttpResponseRedirect(reverse("portal:webhook", args=[endpoint.pk]))
