"""Uploading a document against one checklist item, and downloading one, from the client portal.

The upload goes through ``core.uploads.validate_upload`` first: a refused file
is shown with its reason in the client's language, nothing is stored and the
item keeps whatever it had (``core.documents.document_submit`` is only called
with a file that passed). Refusals are audited too (``document.upload_refused``),
so the firm can see a client struggling with a scan.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from core.access import document_for_user, matter_for_user
from core.audit.services import audit_record
from core.checklist import ChecklistLine, checklist_for
from core.documents import document_open, document_submit
from core.models import Matter, User
from core.uploads import UploadRejected, validate_upload
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


def _may_upload(user: User, matter: Matter) -> bool:
    return user.pk == matter.client_id or user.is_staff


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
        "may_upload": _may_upload(signed_in_user(request), matter),
    }
    return render(request, "portal/client_upload.html", context, status=status)


@login_required
def upload(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    item = request.GET.get("item", "")
    if not item:
        return redirect("portal:client_matter", matter.pk)
    line = _line(matter, item)
    if request.method == "GET":
        return _page(request, matter, line, UploadForm(initial={"document_type": line.requirement.name}))
    if not _may_upload(user, matter):
        raise PermissionDenied("Only the client and the firm upload documents to a matter.")
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, matter, line, form, status=400)
    chosen = form.chosen()
    language = translation.get_language() or settings.LANGUAGE_CODE
    try:
        safe = validate_upload(chosen, requirement=line.requirement, language=language)
    except UploadRejected as refusal:
        audit_record(
            "document.upload_refused",
            actor=user,
            target=matter,
            request=request,
            data={"requirement": line.requirement.code, "slot": line.slot, "reason": refusal.code},
        )
        form.add_error("file", refusal.message)
        return _page(request, matter, line, form, status=400)
    metadata = {
        "document_type": form.cleaned_data["document_type"],
        "document_date": form.cleaned_data["document_date"],
        "signer": form.cleaned_data["signer"],
        "page_count": safe.page_count,
        "language": language,
    }
    try:
        document_submit(
            matter=matter,
            requirement=line.requirement,
            uploaded_by=user,
            content=safe.as_file(),
            filename=safe.original_name,
            content_type=safe.content_type,
            metadata=metadata,
            slot=line.slot,
            request=request,
        )
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
    return document_open(document=document, user=user, request=request)
