"""Staff workspace, case work: the review queue, reviewing, thumbnails, downloads, stages and messages.

Every object is reached through its accessor first (``matter_for_user``,
``document_for_user``): "not yours" is 404 before anything else is decided.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.access import document_for_user, matter_for_user, may_change_matter
from core.checklist import checklist_for
from core.documents import document_open, document_review, documents_for_review
from core.intake import intake_questions_for, intake_value_display
from core.matters import client_matter_open
from core.messages import message_send, messages_for
from core.models import Matter, MatterEvent, User
from core.models.casework import ReasonCode
from core.notifications import notification_mark_read, notifications_for
from core.roles import ADD_MATTER
from core.stages import matter_advance_stage, matter_stages
from core.thumbnails import document_thumbnail
from core.work import matter_deadlines, matter_tasks
from portal.guards import require_staff, signed_in_user, wrong_method
from portal.staff_forms import (
    DeadlineForm,
    MatterOpenForm,
    MessageForm,
    ReceiptForm,
    ReviewForm,
    StageForm,
    TaskForm,
)

REASONS = ReasonCode.choices


def casework_context(matter: Matter, user: User) -> dict[str, Any]:
    """What the matter page shows besides the grants."""
    answers = matter.intake_answers or {}
    return {
        "checklist": checklist_for(matter),
        "intake": [(q, intake_value_display(q, answers.get(q.key))) for q in intake_questions_for(matter)],
        "timeline": MatterEvent.objects.filter(matter=matter)
        .select_related("actor", "document")
        .order_by("-at", "-id"),
        "conversation": messages_for(matter),
        "stages": matter_stages(matter),
        "stage_form": StageForm(matter=matter),
        "message_form": MessageForm(),
        "reasons": REASONS,
        "can_change": may_change_matter(user, matter),
        "deadlines": matter_deadlines(matter),
        "matter_tasks": matter_tasks(matter),
        "deadline_form": DeadlineForm(),
        "task_form": TaskForm(),
        "receipts": matter.receipts.all(),
        "receipt_form": ReceiptForm(),
        "now": timezone.now(),
    }


def _back_to_matter(matter_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("portal:staff_matter", kwargs={"matter_id": matter_id}))


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    user = require_staff(request)
    if refused := wrong_method(request, "GET"):
        return refused
    documents = documents_for_review(user)[:200]
    notices = notifications_for(user, unread_only=True)[:20]
    context = {"documents": documents, "reasons": REASONS, "notices": notices}
    return render(request, "portal/staff_review_queue.html", context)


@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    user = require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused
    notification_mark_read(user=user, ids=notifications_for(user, unread_only=True).values_list("pk", flat=True))
    return HttpResponseRedirect(reverse("portal:review_queue"))


@login_required
def review_document(request: HttpRequest, document_id: int) -> HttpResponse:
    user = signed_in_user(request)
    document = document_for_user(user, document_id, action="change")
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused
    form = ReviewForm(request.POST)
    if not form.is_valid():
        flash.error(request, " ".join(str(message) for errors in form.errors.values() for message in errors))
        return _back_to_matter(document.matter_id)
    try:
        document_review(
            document=document,
            by=user,
            decision=form.cleaned_data["decision"],
            reason_code=form.cleaned_data["reason_code"] or None,
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        flash.error(request, error.messages[0])
    else:
        verb = "accepted" if form.cleaned_data["decision"] == "accept" else "sent back to the client"
        flash.success(request, f"Document {verb}.")
    if request.POST.get("next") == "queue":
        return HttpResponseRedirect(reverse("portal:review_queue"))
    return _back_to_matter(document.matter_id)


@login_required
def thumbnail(request: HttpRequest, document_id: int) -> HttpResponse:
    user = signed_in_user(request)
    document = document_for_user(user, document_id)
    require_staff(request)
    if refused := wrong_method(request, "GET"):
        return refused
    response = HttpResponse(document_thumbnail(document=document, user=user), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def download(request: HttpRequest, document_id: int) -> HttpResponse | FileResponse:
    user = signed_in_user(request)
    document = document_for_user(user, document_id)
    if refused := wrong_method(request, "GET"):
        return refused
    return document_open(document=document, user=user)


@login_required
def stage_advance(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id, action="change")
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused
    form = StageForm(request.POST, matter=matter)
    if form.is_valid():
        try:
            matter = matter_advance_stage(matter=matter, by=user, to=form.cleaned_data["stage"])
        except ValidationError as error:
            flash.error(request, error.messages[0])
        else:
            flash.success(request, f"The matter is now at “{matter.stage.name_en if matter.stage else '—'}”.")
    return _back_to_matter(matter.pk)


@login_required
def message_post(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            message_send(matter=matter, sender=user, body=form.cleaned_data["body"])
        except ValidationError as error:
            flash.error(request, error.messages[0])
        else:
            flash.success(request, "Message sent.")
    else:
        flash.error(request, "Write a message first.")
    return _back_to_matter(matter.pk)


@login_required
def matter_open(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=ADD_MATTER)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = MatterOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            matter = client_matter_open(
                email=data["email"],
                full_name=data["full_name"],
                language=data["language"],
                phone=data["phone"],
                matter_type=data["matter_type"],
                title=data["title"],
                responsible_attorney=data["responsible_attorney"],
                assigned_paralegal=data["assigned_paralegal"],
                invite=data["invite"],
                by=user,
            )
        except ValidationError as error:
            form.add_error(None, error.messages[0])
        else:
            flash.success(request, f"Matter {matter.reference} opened.")
            return _back_to_matter(matter.pk)
    return render(request, "portal/staff_matter_open.html", {"form": form}, status=400 if form.errors else 200)
