"""The staff home page's panels: what waits for this person, each with a count and a link to the list behind it.

Interfaces:

* ``Panel`` — a title, a count, the list it links to, and a few lines (label, link) to start from.
* ``dashboard_provider(function)`` — register a function ``(user, today) -> Panel | None`` (None: not for this
  person's role). Apps above ``core`` (billing) register theirs at start-up, so ``core`` knows nothing of them.
* ``dashboard_panels(user) -> list[Panel]`` — every registered panel for ``user``, in registration order.

Core's own: documents waiting for review, my tasks (overdue and due within a week), my deadlines this week.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Task, User

Line = tuple[str, str]  # what the line says, where it leads


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    count: int
    link: str
    lines: list[Line] = field(default_factory=list)
    empty: str = ""


Provider = Callable[[User, datetime.date], Panel | None]
_PROVIDERS: list[Provider] = []


def dashboard_provider(function: Provider) -> Provider:
    if function not in _PROVIDERS:
        _PROVIDERS.append(function)
    return function


def dashboard_panels(user: User) -> list[Panel]:
    today = timezone.localdate()
    return [panel for provider in _PROVIDERS if (panel := provider(user, today)) is not None]


def _matter_link(matter_id: int) -> str:
    return reverse("portal:staff_matter", kwargs={"matter_id": matter_id})


@dashboard_provider
def documents_waiting(user: User, today: datetime.date) -> Panel | None:
    from core.documents import documents_for_review

    waiting = documents_for_review(user)
    lines = [
        (
            f"{document.matter.client.get_full_name()} · {document.requirement.name_en if document.requirement else ''}"
            f" · {document.matter.reference}",
            _matter_link(document.matter_id),
        )
        for document in waiting[:5]
    ]
    return Panel(
        key="review",
        title=_("Documents waiting for review"),
        count=waiting.count(),
        link=reverse("portal:review_queue"),
        lines=lines,
        empty=_("Nothing to review."),
    )


@dashboard_provider
def my_tasks(user: User, today: datetime.date) -> Panel | None:
    from core.work import tasks_for_user

    week = today + datetime.timedelta(days=7)
    due = (
        tasks_for_user(user)
        .filter(assignee=user, state__in=[Task.State.OPEN, Task.State.IN_PROGRESS])
        .filter(Q(due_on__lte=week) | Q(due_on__isnull=True, priority__in=[Task.Priority.HIGH, Task.Priority.URGENT]))
        .order_by("due_on", "id")
    )
    lines = []
    for task in due[:5]:
        when = (
            _("overdue") if task.due_on and task.due_on < today else (f"{task.due_on:%a %d %b}" if task.due_on else "")
        )
        lines.append((f"{task.title}{f' · {when}' if when else ''}", reverse("portal:tasks")))
    return Panel(
        key="tasks",
        title=_("My tasks this week"),
        count=due.count(),
        link=reverse("portal:tasks"),
        lines=lines,
        empty=_("No task of yours is due this week."),
    )


@dashboard_provider
def my_deadlines(user: User, today: datetime.date) -> Panel | None:
    from core.work import calendar_entries

    entries = [
        entry
        for entry in calendar_entries(user, start=today, end=today + datetime.timedelta(days=6))
        if entry.kind == "deadline"
    ]
    lines = [
        (f"{timezone.localtime(entry.when):%a %d %b %H:%M} · {entry.label}", _matter_link(entry.matter.pk))  # type: ignore[arg-type]
        for entry in entries[:5]
        if entry.matter is not None
    ]
    return Panel(
        key="deadlines",
        title=_("My deadlines this week"),
        count=len(entries),
        link=reverse("portal:calendar"),
        lines=lines,
        empty=_("No deadline this week."),
    )
