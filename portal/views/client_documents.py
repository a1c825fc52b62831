"""Uploading a document against one checklist item, and downloading one, from the client portal.

The upload is ``core.document_upload.document_upload``, the use case the API
calls too: a refused file is shown with its reason in the client's language
(and audited), nothing is stored and the item keeps whatever it had.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.access import document_for_user, is_party_to, matter_for_user
from core.checklist import ChecklistLine, checklist_for
from core.document_upload import UploadRejected, document_upload
from core.documents import document_open
from core.models import Matter
from core.uploads.errors import human_size
from core.uploads.validate import accepted_label, upload_limits
from portal.client_forms import UploadForm
from portal.guards import signed_in_user, wrong_method


def _line(matter: Matter, item: str) -> ChecklistLine:
    """The checklist line ``<requirement id>-<slot>`` of this matter; 404 when it is not one of its lines."""
    for line in checklist_for(matter):
        if line.key == item:
            return line
    raise Http404("No such checklist item.")


def _page(
    request: HttpRequest, matter: Matter, line: ChecklistLine, form: UploadForm, status: int = 200
) -> HttpResponse:
    limit, accepted = upload_limits(line.requirement)
    context: dict[str, Any] = {
        "matter": matter,
        "line": line,
        "form": form,
        "limit": limit,
        "limit_text": human_size(limit),
        "accepted_text": accepted_label(accepted),
        "accept_attr": ",".join(sorted(accepted)),
        "camera": any(kind.startswith("image/") for kind in accepted),
    }
    return render(request, "portal/client_upload.html", context, status=status)


@login_required
def upload(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    if not is_party_to(user, matter):
        raise PermissionDenied("Only the client and the firm upload documents to a matter.")  # counsel only read
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    item = request.GET.get("item", "")
    if not item:
        return redirect("portal:client_matter", matter.pk)
    line = _line(matter, item)
    if request.method == "GET":
        return _page(request, matter, line, UploadForm(initial={"document_type": line.requirement.name}))
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, matter, line, form, status=400)
    try:
        document_upload(
            matter=matter,
            requirement=line.requirement,
            slot=line.slot,
            uploaded_by=user,
            file=form.chosen(),
            metadata={key: form.cleaned_data[key] for key in ("document_type", "document_date", "signer")},
        )
    except UploadRejected as refusal:
        form.add_error("file", refusal.message)
        return _page(request, matter, line, form, status=400)
    except ValidationError as error:
        form.add_error("file", " ".join(error.messages))
        return _page(request, matter, line, form, status=400)
    messages.success(
        request,
        _("Thank you. We received “%(item)s”. Your legal team will review it and let you know.") % {"item": line.label},
    )
    return redirect("portal:client_matter", matter.pk)


@login_required
def download(request: HttpRequest, matter_id: int) -> HttpResponseBase:
    """A document of this matter, always as an attachment named by the server (``core.documents.document_open``)."""
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    if refused := wrong_method(request, "GET"):
        return refused
    wanted = request.GET.get("document", "")
    if not wanted:
        return redirect("portal:client_matter", matter.pk)
    document = document_for_user(user, wanted)
    if document.matter_id != matter.pk:
        raise Http404("No such document.")
    return document_open(document=document, user=user)
