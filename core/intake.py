"""Guided intake: which questions a matter's client is asked, and saving their answers (SPEC §6).

Interfaces (used by the client portal and the API):

* ``intake_questions_for(matter) -> list[IntakeQuestion]`` — the questions that
  apply given the answers so far, in order (``question.label``, ``.help``,
  ``.kind``, ``.choice_options()`` are in the active language).
* ``intake_save_answers(*, matter, answers, by) -> IntakeResult`` —
  validates and saves what was sent (partial progress is fine), answers that no
  longer apply are dropped; ``result.errors`` maps question key to a message in
  the active language. Stamps ``intake_started_at`` / ``intake_completed_at``.
* ``intake_is_complete(matter) -> bool``.
* ``intake_value_display(question, value) -> str`` — an answer as a person reads it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import is_client_of, may_change_matter
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.conditions import condition_holds
from core.models import IntakeQuestion, Matter, MatterEvent, User
from core.webhooks import event_emit

Kind = IntakeQuestion.Kind
TRUE_WORDS = {"true", "yes", "y", "1", "on", "si", "sí"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


@dataclass
class IntakeResult:
    errors: dict[str, str] = field(default_factory=dict)
    saved: list[str] = field(default_factory=list)
    complete: bool = False
    questions: list[IntakeQuestion] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _all_questions(matter: Matter) -> list[IntakeQuestion]:
    if matter.matter_type_id is None:
        return []
    return list(IntakeQuestion.objects.filter(matter_type_id=matter.matter_type_id).order_by("position", "id"))


def _relevant(questions: list[IntakeQuestion], answers: dict[str, Any]) -> list[IntakeQuestion]:
    return [question for question in questions if condition_holds(question.condition, answers)]


def intake_questions_for(matter: Matter) -> list[IntakeQuestion]:
    return _relevant(_all_questions(matter), matter.intake_answers or {})


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Invalid(ValueError):
    pass


def _coerce(question: IntakeQuestion, value: object) -> object:
    """The answer as stored (bool, int, ISO date string, str) or _Invalid with a message for the person."""
    if question.kind == Kind.YES_NO:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise _Invalid(_("Answer yes or no."))
    if question.kind == Kind.NUMBER:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise _Invalid(_("Enter a whole number.")) from None
        low, high = question.min_value, question.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            raise _Invalid(_("Enter a number from %(low)s to %(high)s.") % {"low": low or 0, "high": high or "…"})
        return number
    if question.kind == Kind.DATE:
        try:
            day = value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            raise _Invalid(_("Enter a date like 2024-03-31.")) from None
        if day > timezone.localdate():
            raise _Invalid(_("The date cannot be in the future."))
        return day.isoformat()
    if question.kind == Kind.CHOICE:
        allowed = {str(c["value"]) for c in question.choices}
        if str(value) not in allowed:
            raise _Invalid(_("Choose one of the options."))
        return str(value)
    text = str(value).strip()
    if len(text) > 2000:
        raise _Invalid(_("Keep the answer under 2000 characters."))
    return text


def _missing(questions: list[IntakeQuestion], answers: dict[str, Any]) -> list[IntakeQuestion]:
    return [q for q in questions if q.required and _blank(answers.get(q.key))]


def intake_is_complete(matter: Matter) -> bool:
    answers = matter.intake_answers or {}
    questions = _relevant(_all_questions(matter), answers)
    return bool(matter.matter_type_id) and not _missing(questions, answers)


@transaction.atomic
def intake_save_answers(*, matter: Matter, answers: dict[str, object], by: User) -> IntakeResult:
    if not (is_client_of(by, matter) or may_change_matter(by, matter)):
        raise PermissionDenied("You may not answer this matter's intake.")
    given = matter
    matter = Matter.objects.select_for_update(no_key=True).get(pk=matter.pk)  # see billing/locks.py
    questions = _all_questions(matter)
    by_key = {q.key: q for q in questions}
    stored: dict[str, Any] = dict(matter.intake_answers or {})
    result = IntakeResult()
    for key, value in answers.items():
        question = by_key.get(key)
        if question is None:
            continue
        if _blank(value):
            stored.pop(key, None)
            if question.required and condition_holds(question.condition, stored):
                result.errors[key] = _("This question needs an answer.")
            continue
        try:
            stored[key] = _coerce(question, value)
            result.saved.append(key)
        except _Invalid as exc:
            result.errors[key] = str(exc)
    relevant = _relevant(questions, stored)
    relevant_keys = {q.key for q in relevant}
    stored = {key: value for key, value in stored.items() if key in relevant_keys}
    result.errors = {key: message for key, message in result.errors.items() if key in relevant_keys}
    matter.intake_answers = stored
    now = timezone.now()
    fields = ["intake_answers", "updated"]
    if matter.intake_started_at is None and result.saved:
        matter.intake_started_at = now
        fields.append("intake_started_at")
        MatterEvent.objects.create(matter=matter, kind="intake.started", actor=by, at=now)
    result.complete = bool(matter.matter_type_id) and not _missing(relevant, stored)
    if result.complete and matter.intake_completed_at is None:
        matter.intake_completed_at = now
        fields.append("intake_completed_at")
        MatterEvent.objects.create(matter=matter, kind="intake.completed", actor=by, at=now)
        event_emit(type="intake.completed", data={"matter": matter.pk, "reference": matter.reference})
    matter.save(update_fields=fields)
    audit_record(
        AuditAction.INTAKE_SAVED,
        actor=by,
        target=matter,
        data={"questions": sorted(result.saved), "errors": sorted(result.errors), "complete": result.complete},
    )
    if "intake_completed_at" in fields:
        from core.stages import stage_complete_if_current

        stage_complete_if_current(matter=matter, code="intake", by=by)
    for name in ("intake_answers", "intake_started_at", "intake_completed_at", "stage_id", "updated"):
        setattr(given, name, getattr(matter, name))  # the caller's instance sees what was saved
    result.questions = relevant
    return result


def intake_value_display(question: IntakeQuestion, value: object) -> str:
    if value is None or value == "":
        return ""
    if question.kind == Kind.YES_NO:
        return _("Yes") if value else _("No")
    if question.kind == Kind.CHOICE:
        return dict(question.choice_options()).get(str(value), str(value))
    return str(value)
