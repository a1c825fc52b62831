"""Staff workspace: a firm admin edits the firm's matter types, their questions, requirements and stages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from core.matter_types import matter_type_for_user, matter_type_item_save, matter_type_part
from core.models import DocumentRequirement, IntakeQuestion, MatterType, WorkflowStage
from core.roles import MANAGE_MATTER_TYPES
from portal.guards import require_staff, signed_in_user, wrong_method
from portal.staff_forms import DocumentRequirementForm, IntakeQuestionForm, MatterTypeForm, WorkflowStageForm

PARTS: dict[str, tuple[type[Any], type[Any], str]] = {
    "question": (IntakeQuestion, IntakeQuestionForm, "intake question"),
    "requirement": (DocumentRequirement, DocumentRequirementForm, "document requirement"),
    "stage": (WorkflowStage, WorkflowStageForm, "workflow stage"),
}


def _to_type(matter_type: MatterType) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("portal:matter_type", kwargs={"type_id": matter_type.pk}))


@login_required
def matter_type_list(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=MANAGE_MATTER_TYPES)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = MatterTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        matter_type = matter_type_item_save(item=form.instance, by=user)
        flash.success(request, "Matter type created.")
        return _to_type(matter_type)  # type: ignore[arg-type]
    types = MatterType.objects.all()
    status = 400 if form.errors else 200
    return render(request, "portal/staff_matter_types.html", {"types": types, "form": form}, status=status)


@login_required
def matter_type_detail(request: HttpRequest, type_id: int) -> HttpResponse:
    matter_type = matter_type_for_user(signed_in_user(request), type_id)
    user = require_staff(request, permission=MANAGE_MATTER_TYPES)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = MatterTypeForm(request.POST or None, instance=matter_type)
    if request.method == "POST" and form.is_valid():
        matter_type_item_save(item=form.instance, by=user)
        flash.success(request, "Matter type saved.")
        return _to_type(matter_type)
    context = {
        "matter_type": matter_type,
        "form": form,
        "questions": matter_type.questions.all(),
        "requirements": matter_type.requirements.all(),
        "stages": matter_type.stages.all(),
    }
    return render(request, "portal/staff_matter_type.html", context, status=400 if form.errors else 200)


def _edit_part(request: HttpRequest, type_id: int, part: str, item_id: int | None) -> HttpResponse:
    matter_type = matter_type_for_user(signed_in_user(request), type_id)
    model, form_class, label = PARTS[part]
    item = matter_type_part(matter_type, model, item_id) if item_id is not None else None
    user = require_staff(request, permission=MANAGE_MATTER_TYPES)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = form_class(request.POST or None, instance=item, matter_type=matter_type)
    if request.method == "POST" and form.is_valid():
        matter_type_item_save(item=form.instance, by=user)
        flash.success(request, f"The {label} is saved.")
        return _to_type(matter_type)
    context = {"matter_type": matter_type, "form": form, "label": label, "item": item}
    return render(request, "portal/staff_matter_type_part.html", context, status=400 if form.errors else 200)


@login_required
def question_new(request: HttpRequest, type_id: int) -> HttpResponse:
    return _edit_part(request, type_id, "question", None)


@login_required
def question_edit(request: HttpRequest, type_id: int, question_id: int) -> HttpResponse:
    return _edit_part(request, type_id, "question", question_id)


@login_required
def requirement_new(request: HttpRequest, type_id: int) -> HttpResponse:
    return _edit_part(request, type_id, "requirement", None)


@login_required
def requirement_edit(request: HttpRequest, type_id: int, requirement_id: int) -> HttpResponse:
    return _edit_part(request, type_id, "requirement", requirement_id)


@login_required
def stage_new(request: HttpRequest, type_id: int) -> HttpResponse:
    return _edit_part(request, type_id, "stage", None)


@login_required
def stage_edit(request: HttpRequest, type_id: int, stage_id: int) -> HttpResponse:
    return _edit_part(request, type_id, "stage", stage_id)
