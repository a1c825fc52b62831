"""Secure messages between a client and the firm on one matter (``core.messages``).

Only the matter's parties (``core.access.is_party_to``: its client and the firm's
staff) open the thread; outside counsel, who read a granted matter, get 403.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.access import is_party_to, matter_for_user
from core.messages import message_send, messages_for
from portal.client_forms import MessageForm
from portal.guards import signed_in_user, wrong_method


@login_required
def thread(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    if not is_party_to(user, matter):
        raise PermissionDenied("The messages are between the client and the firm.")  # outside counsel only read
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            message_send(matter=matter, sender=user, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error("body", " ".join(error.messages))
        else:
            flash.success(request, _("Your message was sent to your legal team."))
            return redirect("portal:client_messages", matter.pk)
    status = 400 if request.method == "POST" else 200
    context = {"matter": matter, "thread": messages_for(matter), "form": form}
    return render(request, "portal/client_messages.html", context, status=status)
