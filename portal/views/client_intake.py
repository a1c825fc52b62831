"""The guided intake: one question per screen, only those that apply, saved at every step.

The questions come from ``core.intake.intake_questions_for`` (conditions on
earlier answers decide which apply), answers are validated and saved by
``core.intake.intake_save_answers``. Without ``?q=`` the page shows the first
question still unanswered, so a client who leaves and comes back resumes where
they stopped; once every question is answered it shows the answers for review.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.access import is_party_to, matter_for_user
from core.intake import intake_is_complete, intake_questions_for, intake_save_answers, intake_value_display
from core.models import IntakeQuestion, Matter
from portal.client_forms import intake_field
from portal.guards import signed_in_user, wrong_method


def _unanswered(questions: list[IntakeQuestion], answers: dict[str, object]) -> list[IntakeQuestion]:
    return [q for q in questions if answers.get(q.key) in (None, "")]


def _next_url(matter: Matter, after: str) -> str:
    """After a saved answer: the next unanswered question that now applies, else the first one missed, else review."""
    questions = intake_questions_for(matter)  # an answer may have opened a branch
    answers = matter.intake_answers or {}
    keys = [q.key for q in questions]
    later = questions[keys.index(after) + 1 :] if after in keys else questions
    for question in _unanswered(later, answers):
        return _step_url(matter, question.key)
    return _step_url(matter)


def _step_url(matter: Matter, key: str | None = None) -> str:
    url = reverse("portal:client_intake", args=[matter.pk])
    return f"{url}?q={key}" if key else url


def _review(request: HttpRequest, matter: Matter, questions: list[IntakeQuestion]) -> HttpResponse:
    answers = matter.intake_answers or {}
    rows = [(q, intake_value_display(q, answers.get(q.key))) for q in questions]
    return render(
        request,
        "portal/client_intake_review.html",
        {"matter": matter, "rows": rows, "complete": intake_is_complete(matter)},
    )


@login_required
def intake(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    if not is_party_to(user, matter):
        raise PermissionDenied("The questionnaire is the client's.")  # outside counsel only read the matter
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    questions = intake_questions_for(matter)
    if not questions:
        return redirect("portal:client_matter", matter.pk)
    answers = matter.intake_answers or {}
    by_key = {q.key: q for q in questions}
    asked = request.POST.get("question") or request.GET.get("q")
    if asked and asked not in by_key:
        return redirect(_step_url(matter))  # a question that no longer applies (an earlier answer changed)
    if asked is None:
        pending = [q for q in _unanswered(questions, answers) if q.required]
        if not pending or request.GET.get("review"):
            return _review(request, matter, questions)
        asked = pending[0].key
    question = by_key[asked]
    error = ""
    if request.method == "POST":
        value = request.POST.get("answer", "")
        result = intake_save_answers(matter=matter, answers={question.key: value}, by=user)
        error = result.errors.get(question.key, "")
        if not error and question.required and value.strip() == "":
            error = _("This question needs an answer.")
        if not error:
            if request.POST.get("later"):
                messages.success(request, _("Your answers are saved. You can continue any time."))
                return redirect("portal:client_matter", matter.pk)
            return redirect(_next_url(matter, question.key))
        answers = matter.intake_answers or {}
    position = [q.key for q in questions].index(question.key)
    field = intake_field(question, answers.get(question.key))
    bound_value = request.POST.get("answer") if request.method == "POST" else field.initial
    previous = questions[position - 1].key if position > 0 else None
    context = {
        "matter": matter,
        "question": question,
        "field": field,
        "value": "" if bound_value is None else str(bound_value),
        "error": error,
        "number": position + 1,
        "total": len(questions),
        "previous_url": _step_url(matter, previous) if previous else None,
    }
    return render(request, "portal/client_intake.html", context, status=400 if error else 200)
