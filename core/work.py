"""Staff work: tasks, deadlines, the calendar, each person's iCalendar feed, and deadline reminders.

Interfaces:

* ``tasks_for_user(user) -> QuerySet[Task]``, ``task_for_user(user, task_id) -> Task`` (404 when missing or
  not theirs): staff see the tasks of the matters they reach, the firm-level tasks given to or made by them,
  and (billing staff) the billing tasks without a matter.
* ``task_create(*, title, by, matter=None, assignee=None, due_on=None, priority=…)`` — by hand;
  ``task_ensure(*, source, source_key, title, …)`` — Portico's own, once per cause.
* ``task_change(*, task, by, state=…, assignee=…, priority=…, due_on=…)``; ``task_close_by_key(key)``.
* ``checklist_tasks_sync(matter)`` — a task per checklist line the firm is responsible for, closed once
  the line is accepted; ``stage_task_open(matter, stage)`` — the work of the stage a matter enters.
* ``deadlines_for_user(user)``, ``deadline_for_user(user, id)``, ``deadline_create``, ``deadline_change``.
* ``calendar_entries(user, *, start, end, scope)`` — deadlines, checklist due dates and tasks' due dates.
* ``calendar_feed_issue(*, user) -> str`` (the token, shown once), ``calendar_feed_revoke``,
  ``calendar_feed_user(token)``, ``calendar_ics(user) -> bytes``.
* ``deadline_reminders_queue(*, now) -> list[int]`` — reminder rows written (once per deadline, offset and
  person) and their emails queued on commit.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import Person, matter_for_user, matters_for_user, may_change_matter, object_id, signed_in
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.checklist import ACCEPTED, checklist_for
from core.models import (
    CalendarFeed,
    Deadline,
    DeadlineReminder,
    Matter,
    MatterEvent,
    ReceiptNotice,
    Task,
    User,
    WorkflowStage,
)
from core.roles import VIEW_BILLING

#: Reminders of a deadline go out this many days before it (and the day before).
REMINDER_DAYS = (7, 1)
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 400


# --- Tasks ----------------------------------------------------------------------------


def tasks_for_user(user: Person) -> QuerySet[Task]:
    if not signed_in(user) or not user.is_staff:
        return Task.objects.none()
    own = Q(matter__isnull=True) & (Q(assignee=user) | Q(created_by=user))
    if user.has_perm(VIEW_BILLING):
        own |= Q(matter__isnull=True, source=Task.Source.BILLING)
    return Task.objects.filter(Q(matter__in=matters_for_user(user)) | own).select_related(
        "matter", "assignee", "matter__client"
    )


def task_for_user(user: Person, task_id: object) -> Task:
    task = tasks_for_user(user).filter(pk=object_id(task_id, "task")).first()
    if task is None:
        raise Http404("No such task.")
    return task


def _check_assignee(assignee: User | None) -> None:
    if assignee is not None and (not assignee.is_staff or not assignee.is_active):
        raise ValidationError(_("Tasks can be given only to the firm's active staff."))


@transaction.atomic
def task_create(
    *,
    title: str,
    by: User,
    matter: Matter | None = None,
    assignee: User | None = None,
    due_on: datetime.date | None = None,
    priority: str = Task.Priority.NORMAL,
) -> Task:
    if not by.is_staff:
        raise PermissionDenied("Only the firm's staff make tasks.")
    if matter is not None and not may_change_matter(by, matter):
        raise PermissionDenied("You may not add tasks to this matter.")
    if not title.strip():
        raise ValidationError(_("Say what has to be done."))
    _check_assignee(assignee)
    task = Task.objects.create(
        title=title.strip()[:300],
        matter=matter,
        assignee=assignee,
        due_on=due_on,
        priority=priority,
        created_by=by,
    )
    audit_record(AuditAction.TASK_CREATED, actor=by, target=task, data=_task_data(task))
    return task


def task_ensure(
    *,
    source: str,
    source_key: str,
    title: str,
    matter: Matter | None = None,
    assignee: User | None = None,
    due_on: datetime.date | None = None,
    priority: str = Task.Priority.NORMAL,
) -> Task:
    """Portico's own task for one cause (``source_key``): made the first time, left alone afterwards."""
    existing = Task.objects.filter(source_key=source_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            task = Task.objects.create(
                title=title[:300],
                matter=matter,
                assignee=assignee,
                due_on=due_on,
                priority=priority,
                source=source,
                source_key=source_key,
            )
    except IntegrityError:  # made at the same moment by another transaction
        return Task.objects.get(source_key=source_key)
    audit_record(AuditAction.TASK_CREATED, target=task, data=_task_data(task))
    return task


def _task_data(task: Task) -> dict[str, object]:
    return {
        "title": task.title,
        "matter": task.matter.reference if task.matter else None,
        "assignee": task.assignee.email if task.assignee else None,
        "due_on": task.due_on.isoformat() if task.due_on else None,
        "priority": task.priority,
        "state": task.state,
        "source": task.source,
    }


_UNCHANGED = object()


@transaction.atomic
def task_change(
    *,
    task: Task,
    by: User,
    state: str | None = None,
    assignee: User | object | None = _UNCHANGED,
    priority: str | None = None,
    due_on: datetime.date | object | None = _UNCHANGED,
) -> Task:
    """Change a task its viewer reaches (``task_for_user`` first); audited with before and after."""
    if not by.is_staff:
        raise PermissionDenied("Only the firm's staff change tasks.")
    locked = Task.objects.select_for_update(of=("self",)).select_related("matter", "assignee").get(pk=task.pk)
    before = _task_data(locked)
    if state is not None:
        if state not in Task.State.values:
            raise ValidationError(f"unknown state {state!r}")
        locked.state = state
        locked.completed_at = timezone.now() if state == Task.State.DONE else None
    if assignee is not _UNCHANGED:
        assert assignee is None or isinstance(assignee, User)
        _check_assignee(assignee)
        locked.assignee = assignee
    if priority is not None:
        if priority not in Task.Priority.values:
            raise ValidationError(f"unknown priority {priority!r}")
        locked.priority = priority
    if due_on is not _UNCHANGED:
        assert due_on is None or isinstance(due_on, datetime.date)
        locked.due_on = due_on
    locked.save()
    after = _task_data(locked)
    if after != before:
        action = AuditAction.TASK_DONE if state == Task.State.DONE else AuditAction.TASK_CHANGED
        audit_record(action, actor=by, target=locked, data={"before": before, "after": after})
    return locked


def task_close_by_key(source_key: str) -> bool:
    """Close Portico's task for a cause that no longer needs doing (nothing when there is none or it is closed)."""
    closed = Task.objects.filter(source_key=source_key, state__in=[Task.State.OPEN, Task.State.IN_PROGRESS]).update(
        state=Task.State.DONE, completed_at=timezone.now()
    )
    return bool(closed)


def _worker_of(matter: Matter) -> User | None:
    return matter.assigned_paralegal or matter.responsible_attorney


def checklist_tasks_sync(matter: Matter) -> None:
    """One task per line of the checklist the firm is responsible for; accepted lines close theirs."""
    for line in checklist_for(matter):
        if line.responsible != "firm":
            continue
        key = f"checklist:{matter.pk}:{line.key}"
        if line.status == ACCEPTED:
            task_close_by_key(key)
            continue
        task_ensure(
            source=Task.Source.CHECKLIST,
            source_key=key,
            title=f"{line.requirement.name_en} — {matter.reference}",
            matter=matter,
            assignee=_worker_of(matter),
            due_on=line.due_date,
        )


def stage_task_open(*, matter: Matter, stage: WorkflowStage, left: WorkflowStage | None) -> None:
    """When a matter enters a stage: a task for its work (the stage left behind closes its own)."""
    if left is not None:
        task_close_by_key(f"stage:{matter.pk}:{left.pk}")
    task_ensure(
        source=Task.Source.STAGE,
        source_key=f"stage:{matter.pk}:{stage.pk}",
        title=f"{stage.name_en} — {matter.reference}",
        matter=matter,
        assignee=_worker_of(matter),
    )


# --- Deadlines ----------------------------------------------------------------------


def deadlines_for_user(user: Person) -> QuerySet[Deadline]:
    if not signed_in(user) or not user.is_staff:
        return Deadline.objects.none()
    return Deadline.objects.filter(matter__in=matters_for_user(user)).select_related(
        "matter", "responsible", "matter__client"
    )


def deadline_for_user(user: Person, deadline_id: object) -> Deadline:
    deadline = deadlines_for_user(user).filter(pk=object_id(deadline_id, "deadline")).first()
    if deadline is None:
        raise Http404("No such deadline.")
    return deadline


def _deadline_data(deadline: Deadline) -> dict[str, object]:
    return {
        "kind": deadline.kind,
        "title": deadline.title,
        "due_at": deadline.due_at.isoformat(),
        "matter": deadline.matter.reference,
        "responsible": deadline.responsible.email if deadline.responsible else None,
        "done": deadline.done_at is not None,
    }


@transaction.atomic
def deadline_create(
    *,
    matter: Matter,
    by: User,
    kind: str,
    due_at: datetime.datetime,
    title: str = "",
    location: str = "",
    responsible: User | None = None,
) -> Deadline:
    if not by.is_staff or not may_change_matter(by, matter):
        raise PermissionDenied("You may not add deadlines to this matter.")
    if kind not in Deadline.Kind.values:
        raise ValidationError(_("Choose what kind of deadline this is."))
    if timezone.is_naive(due_at):
        raise ValueError("a deadline's time must be time-zone aware")
    _check_assignee(responsible)
    deadline = Deadline.objects.create(
        matter=matter,
        kind=kind,
        title=title.strip()[:200],
        due_at=due_at,
        location=location.strip()[:300],
        responsible=responsible or matter.responsible_attorney,
        created_by=by,
    )
    audit_record(AuditAction.DEADLINE_CREATED, actor=by, target=deadline, data=_deadline_data(deadline))
    return deadline


@transaction.atomic
def deadline_change(
    *, deadline: Deadline, by: User, due_at: datetime.datetime | None = None, done: bool | None = None
) -> Deadline:
    if not by.is_staff or not may_change_matter(by, deadline.matter):
        raise PermissionDenied("You may not change this matter's deadlines.")
    locked = (
        Deadline.objects.select_for_update(of=("self",)).select_related("matter", "responsible").get(pk=deadline.pk)
    )
    before = _deadline_data(locked)
    if due_at is not None:
        if timezone.is_naive(due_at):
            raise ValueError("a deadline's time must be time-zone aware")
        if due_at != locked.due_at:
            locked.due_at = due_at
            locked.reminders.all().delete()  # a moved deadline is reminded of again
    if done is not None:
        locked.done_at = timezone.now() if done else None
    locked.save()
    audit_record(
        AuditAction.DEADLINE_CHANGED, actor=by, target=locked, data={"before": before, "after": _deadline_data(locked)}
    )
    return locked


# --- Calendar -----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One dated thing on the calendar."""

    kind: str  # "deadline", "checklist" or "task"
    label: str
    when: datetime.datetime | datetime.date
    matter: Matter | None
    person: User | None
    uid: str
    location: str = ""

    @property
    def day(self) -> datetime.date:
        return self.when.date() if isinstance(self.when, datetime.datetime) else self.when

    @property
    def all_day(self) -> bool:
        return not isinstance(self.when, datetime.datetime)


def _mine(user: User) -> Q:
    return Q(responsible_attorney=user) | Q(assigned_paralegal=user)


def calendar_entries(
    user: Person, *, start: datetime.date, end: datetime.date, scope: str = "mine", person: User | None = None
) -> list[Entry]:
    """What is due from ``start`` to ``end`` (inclusive): for ``scope="mine"`` the user's own deadlines, matters
    and tasks; for ``"firm"`` everything the user reaches, or (``person``) that person's share of it. Done
    deadlines and closed tasks are left out."""
    if not signed_in(user) or not user.is_staff:
        return []
    tz = timezone.get_current_timezone()
    first = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    last = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    entries: list[Entry] = []
    deadlines = deadlines_for_user(user).filter(due_at__gte=first, due_at__lt=last, done_at__isnull=True)
    tasks = tasks_for_user(user).filter(
        due_on__gte=start, due_on__lte=end, state__in=[Task.State.OPEN, Task.State.IN_PROGRESS]
    )
    matters = matters_for_user(user).filter(status=Matter.Status.OPEN)
    whose = user if scope == "mine" else person
    if whose is not None:
        deadlines = deadlines.filter(Q(responsible=whose) | Q(matter__in=Matter.objects.filter(_mine(whose))))
        tasks = tasks.filter(assignee=whose)
        matters = matters.filter(_mine(whose))
    for deadline in deadlines:
        entries.append(
            Entry(
                kind="deadline",
                label=f"{deadline} — {deadline.matter.reference}",
                when=deadline.due_at,
                matter=deadline.matter,
                person=deadline.responsible,
                uid=f"deadline-{deadline.pk}",
                location=deadline.location,
            )
        )
    for task in tasks:
        assert task.due_on is not None
        entries.append(
            Entry(
                kind="task",
                label=task.title,
                when=task.due_on,
                matter=task.matter,
                person=task.assignee,
                uid=f"task-{task.pk}",
            )
        )
    entries.extend(_checklist_entries(matters.select_related("matter_type", "client"), start=start, end=end))
    return sorted(entries, key=lambda entry: (entry.day, entry.label))


def _checklist_entries(matters: Iterable[Matter], *, start: datetime.date, end: datetime.date) -> Iterable[Entry]:
    for matter in matters:
        for line in checklist_for(matter):
            if line.status == ACCEPTED or not line.required or not start <= line.due_date <= end:
                continue
            yield Entry(
                kind="checklist",
                label=f"{line.requirement.name_en} due — {matter.reference}",
                when=line.due_date,
                matter=matter,
                person=_worker_of(matter),
                uid=f"checklist-{matter.pk}-{line.key}",
            )


# --- The private feed ---------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_issue(*, user: User) -> str:
    """A new private feed address's token for ``user`` (shown once); the old one stops working."""
    if not user.is_staff:
        raise PermissionDenied("Calendar feeds are for the firm's staff.")
    revoked = CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.create(user=user, token_hash=_hash(token))
    audit_record(AuditAction.CALENDAR_FEED_ISSUED, actor=user, target=user, data={"replaced": bool(revoked)})
    return token


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> bool:
    revoked = CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        audit_record(AuditAction.CALENDAR_FEED_REVOKED, actor=user, target=user)
    return bool(revoked)


def calendar_feed_live(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


def calendar_feed_user(token: str) -> User:
    """The active staff member whose live feed ``token`` opens; Http404 otherwise (and for any malformed token)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise Http404("No such calendar.")
    feed = CalendarFeed.objects.filter(token_hash=_hash(token), revoked_at__isnull=True).select_related("user").first()
    if feed is None or not feed.user.is_active or not feed.user.is_staff:
        raise Http404("No such calendar.")
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    return feed.user


def calendar_ics(user: User, *, firm_name: str, link: Callable[[Matter], str] | None = None) -> bytes:
    """``user``'s own calendar as iCalendar (RFC 5545): deadlines with their times, the rest as all-day events."""
    import icalendar

    today = timezone.localdate()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Portico//Calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{firm_name} — {user.get_full_name()}")
    stamp = timezone.now()
    for entry in calendar_entries(
        user,
        start=today - datetime.timedelta(days=FEED_PAST_DAYS),
        end=today + datetime.timedelta(days=FEED_FUTURE_DAYS),
    ):
        event = icalendar.Event()
        event.add("uid", f"{entry.uid}@{firm_name.replace(' ', '-').lower()}.portico")
        event.add("dtstamp", stamp)
        event.add("summary", entry.label)
        if entry.all_day:
            event.add("dtstart", entry.when)
            event.add("dtend", entry.day + datetime.timedelta(days=1))
        else:
            event.add("dtstart", entry.when)
            event.add("dtend", entry.when + datetime.timedelta(hours=1))
        if entry.location:
            event.add("location", entry.location)
        if entry.matter is not None and link is not None:
            event.add("url", link(entry.matter))
        calendar.add_component(event)
    return bytes(calendar.to_ical())


# --- Reminders ----------------------------------------------------------------------


def _recipients(deadline: Deadline) -> list[User]:
    people = [deadline.responsible, deadline.matter.responsible_attorney, deadline.matter.assigned_paralegal]
    unique: dict[int, User] = {}
    for person in people:
        if person is not None and person.is_active and person.is_staff:
            unique.setdefault(person.pk, person)
    return list(unique.values())


def deadline_reminders_queue(*, now: datetime.datetime | None = None) -> list[int]:
    """Write a reminder row for each open deadline that has come within a reminder offset, per person, and queue
    its email on commit. A row is unique per deadline, offset and person: a second run (or a second beat)
    writes nothing and sends nothing again. Only the nearest offset is sent (a deadline added the day before
    is reminded of once, not twice)."""
    from core.tasks import deadline_reminder_send

    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=max(REMINDER_DAYS))
    written: list[int] = []
    upcoming = Deadline.objects.filter(done_at__isnull=True, due_at__gt=now, due_at__lte=horizon).select_related(
        "matter", "matter__responsible_attorney", "matter__assigned_paralegal", "responsible"
    )
    for deadline in upcoming:
        due_in = deadline.due_at - now
        offset = min(days for days in REMINDER_DAYS if due_in <= datetime.timedelta(days=days))
        for person in _recipients(deadline):
            if DeadlineReminder.objects.filter(deadline=deadline, recipient=person, days_before__lte=offset).exists():
                continue
            with transaction.atomic():
                reminder, created = DeadlineReminder.objects.get_or_create(
                    deadline=deadline, days_before=offset, recipient=person
                )
                if created:
                    written.append(reminder.pk)
                    transaction.on_commit(partial(deadline_reminder_send.delay, reminder.pk))
    return written


def deadline_reminder_text(reminder: DeadlineReminder) -> tuple[str, str]:
    """The subject and body of a reminder, in the current language."""
    deadline = reminder.deadline
    when = timezone.localtime(deadline.due_at)
    subject = _("Reminder: %(what)s on %(date)s (%(reference)s)") % {
        "what": deadline.title or _(deadline.get_kind_display()),
        "date": when.strftime("%Y-%m-%d %H:%M"),
        "reference": deadline.matter.reference,
    }
    lines = [
        _("%(what)s for matter %(reference)s (%(title)s) is on %(date)s.")
        % {
            "what": deadline.title or _(deadline.get_kind_display()),
            "reference": deadline.matter.reference,
            "title": deadline.matter.title,
            "date": when.strftime("%Y-%m-%d %H:%M %Z"),
        }
    ]
    if deadline.location:
        lines.append(_("Where: %(place)s") % {"place": deadline.location})
    return subject, "\n".join(lines)


def matter_deadlines(matter: Matter) -> QuerySet[Deadline]:
    return matter.deadlines.select_related("responsible").order_by("done_at", "due_at")


def matter_tasks(matter: Matter) -> QuerySet[Task]:
    return matter.tasks.select_related("assignee").order_by("state", "due_on", "id")


def matter_for_work(user: Person, matter_id: object) -> Matter:
    """The matter a task or deadline is added to: one the user may change (404/403 as ``matter_for_user``)."""
    return matter_for_user(user, matter_id, action="change")


# --- Receipt notices ------------------------------------------------------------------

RECEIPT_NUMBER = re.compile(r"[A-Z]{3}[0-9]{10}")


def receipt_number_clean(text: str) -> str:
    """``ioe 0912345678`` → ``IOE0912345678``; ValidationError unless three letters and ten digits remain."""
    number = re.sub(r"[\s-]", "", text or "").upper()
    if not RECEIPT_NUMBER.fullmatch(number):
        raise ValidationError(_("A receipt number is three letters and ten digits, e.g. IOE0912345678."))
    return number


@transaction.atomic
def receipt_add(
    *, matter: Matter, by: User, receipt_number: str, form: str, received_on: datetime.date | None = None
) -> ReceiptNotice:
    if not by.is_staff or not may_change_matter(by, matter):
        raise PermissionDenied("You may not record receipts on this matter.")
    number = receipt_number_clean(receipt_number)
    if ReceiptNotice.objects.filter(receipt_number=number).exists():
        raise ValidationError(_("That receipt number is already recorded."))
    receipt = ReceiptNotice.objects.create(
        matter=matter, receipt_number=number, form=form.strip()[:20], received_on=received_on, created_by=by
    )
    data = {"receipt_number": number, "form": receipt.form}
    MatterEvent.objects.create(matter=matter, kind="receipt.received", actor=by, at=timezone.now(), data=data)
    audit_record(AuditAction.RECEIPT_ADDED, actor=by, target=matter, data=data)
    return receipt
