"""A matter's checklist: what is still needed, from whom, by when, and where each item stands.

Interfaces (used by the client portal, the staff workspace and the API):

* ``checklist_for(matter) -> list[ChecklistLine]`` — one line per requirement
  that applies given the intake answers (a repeated requirement, such as proof
  that each prior marriage ended, gives one line per prior marriage: ``slot``
  1, 2, …). Each line: ``requirement``, ``slot``, ``label`` (active language),
  ``responsible`` ("client"/"firm"), ``due_date``, ``status``
  ("missing"/"received"/"accepted"/"rejected"), ``reason_code``,
  ``reason_text`` (active language), ``note``, ``latest`` document and
  ``history`` (every submission, newest first).
* ``checklist_is_complete(matter) -> bool`` — every required line accepted.
* ``requirement_for_matter(matter, requirement_id) -> DocumentRequirement`` —
  404 unless the requirement belongs to the matter's type.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.http import Http404
from django.utils.translation import gettext as _

from core.access import object_id
from core.conditions import condition_holds
from core.models import Document, DocumentRequirement, Matter

MISSING, RECEIVED, ACCEPTED, REJECTED = "missing", "received", "accepted", "rejected"


@dataclass
class ChecklistLine:
    requirement: DocumentRequirement
    slot: int
    repeated: bool
    due_date: datetime.date
    history: list[Document] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.requirement.pk}-{self.slot}"

    @property
    def label(self) -> str:
        if self.repeated:
            return _("%(name)s (%(number)s)") % {"name": self.requirement.name, "number": self.slot}
        return self.requirement.name

    @property
    def responsible(self) -> str:
        return self.requirement.responsible

    @property
    def required(self) -> bool:
        return self.requirement.required

    @property
    def latest(self) -> Document | None:
        return self.history[0] if self.history else None

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else MISSING

    @property
    def reason_code(self) -> str:
        return self.latest.reason_code if self.latest and self.status == REJECTED else ""

    @property
    def reason_text(self) -> str:
        return self.latest.reason_text if self.latest and self.status == REJECTED else ""

    @property
    def note(self) -> str:
        return self.latest.review_note if self.latest and self.status == REJECTED else ""

    @property
    def needs_upload(self) -> bool:
        return self.status in (MISSING, REJECTED)


def _slots(requirement: DocumentRequirement, answers: dict[str, object]) -> int:
    if not requirement.repeat_for:
        return 1
    try:
        return max(1, int(str(answers.get(requirement.repeat_for) or 1)))
    except ValueError:
        return 1


def checklist_for(matter: Matter) -> list[ChecklistLine]:
    if matter.matter_type_id is None:
        return []
    answers = matter.intake_answers or {}
    requirements = DocumentRequirement.objects.filter(matter_type_id=matter.matter_type_id).order_by("position", "id")
    documents: dict[tuple[int | None, int], list[Document]] = defaultdict(list)
    for document in (
        Document.objects.filter(matter=matter).select_related("uploaded_by", "reviewed_by").order_by("-version", "-id")
    ):
        documents[(document.requirement_id, document.slot)].append(document)
    opened = matter.created.date() if matter.created else datetime.date.today()  # noqa: DTZ011
    lines = []
    for requirement in requirements:
        if not condition_holds(requirement.condition, answers):
            continue
        count = _slots(requirement, answers)
        for slot in range(1, count + 1):
            lines.append(
                ChecklistLine(
                    requirement=requirement,
                    slot=slot,
                    repeated=bool(requirement.repeat_for),
                    due_date=opened + datetime.timedelta(days=requirement.due_offset_days),
                    history=documents.get((requirement.pk, slot), []),
                )
            )
    return lines


def checklist_is_complete(matter: Matter) -> bool:
    return all(line.status == ACCEPTED for line in checklist_for(matter) if line.required)


def requirement_for_matter(matter: Matter, requirement_id: object) -> DocumentRequirement:
    pk = object_id(requirement_id, "requirement")
    found = DocumentRequirement.objects.filter(pk=pk, matter_type_id=matter.matter_type_id).first()
    if found is None or matter.matter_type_id is None:
        raise Http404("No such requirement.")
    return found
