"""Staff workspace: tasks, deadlines on a matter, the calendar and each person's private iCalendar feed.

Every object is reached through its accessor (``task_for_user``, ``deadline_for_user``,
``matter_for_user``) before anything else is decided, so "not yours" is 404. The feed
(``calendar_feed``) is the one page opened without a session: its token is the key, and
an unknown, revoked or malformed token is 404.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.access import matter_for_user
from core.mail import firm_link
from core.models import Matter, Task
from core.work import (
    calendar_entries,
    calendar_feed_issue,
    calendar_feed_live,
    calendar_feed_revoke,
    calendar_feed_user,
    calendar_ics,
    deadline_change,
    deadline_create,
    deadline_for_user,
    receipt_add,
    task_change,
    task_create,
    task_for_user,
    tasks_for_user,
)
from portal.guards import require_staff, signed_in_user, wrong_method
from portal.staff_forms import CalendarForm, DeadlineChangeForm, DeadlineForm, ReceiptForm, TaskChangeForm, TaskForm

WHO = {"mine": "Mine", "unassigned": "Nobody's yet", "all": "Everyone's"}


def _errors(form: Any) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _submit(request: HttpRequest, form: Any, act: Callable[[dict[str, Any]], str]) -> bool:
    """Validate ``form`` and give its data to ``act`` (a service call); flash what ``act`` says it did, or the
    form's or the service's refusal. True when it was done."""
    if not form.is_valid():
        flash.error(request, _errors(form))
        return False
    try:
        done = act(form.cleaned_data)
    except ValidationError as error:
        flash.error(request, error.messages[0])
        return False
    flash.success(request, done)
    return True


def _added(task: Task) -> str:
    return "Task added."


def _back_to_matter(matter_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("portal:staff_matter", kwargs={"matter_id": matter_id}))


# --- Tasks ----------------------------------------------------------------------------


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    user = require_staff(request)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = TaskForm(request.POST or None)
    if request.method == "POST" and _submit(request, form, lambda data: _added(task_create(by=user, **data))):
        return HttpResponseRedirect(reverse("portal:tasks"))
    who = request.GET.get("who", "mine") if request.GET.get("who") in WHO else "mine"
    done = request.GET.get("state") == "done"
    tasks = tasks_for_user(user)
    if who == "mine":
        tasks = tasks.filter(assignee=user)
    elif who == "unassigned":
        tasks = tasks.filter(assignee__isnull=True)
    states = [Task.State.DONE, Task.State.CANCELLED] if done else [Task.State.OPEN, Task.State.IN_PROGRESS]
    tasks = tasks.filter(state__in=states).order_by(*(("-completed_at", "-id") if done else ("due_on", "id")))
    page = Paginator(tasks, 50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    context = {
        "page": page,
        "tasks": page.object_list,
        "form": form,
        "change_form": TaskChangeForm(),
        "who": who,
        "whos": WHO,
        "done": done,
        "today": today,
        "week_end": today + datetime.timedelta(days=7),
    }
    return render(request, "portal/staff_tasks.html", context, status=400 if form.errors else 200)


@login_required
def task_update(request: HttpRequest, task_id: int) -> HttpResponse:
    user = signed_in_user(request)
    task = task_for_user(user, task_id)
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused

    def change(data: dict[str, Any]) -> str:
        changes: dict[str, Any] = {key: data[key] for key in ("state", "priority") if data[key]}
        if "assignee" in request.POST:
            changes["assignee"] = data["assignee"]
        changed = task_change(task=task, by=user, **changes)
        return f"Task “{changed.title}” is {changed.get_state_display().lower()}."

    _submit(request, TaskChangeForm(request.POST), change)
    if request.POST.get("next") == "matter" and task.matter_id is not None:
        return _back_to_matter(task.matter_id)
    return HttpResponseRedirect(reverse("portal:tasks"))


@login_required
def matter_task_create(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id, action="change")
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused
    _submit(request, TaskForm(request.POST), lambda data: _added(task_create(by=user, matter=matter, **data)))
    return _back_to_matter(matter.pk)


# --- Deadlines -------------------------------------------------------------------------


@login_required
def matter_deadline_create(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id, action="change")
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused

    def add(data: dict[str, Any]) -> str:
        deadline = deadline_create(matter=matter, by=user, **data)
        when = timezone.localtime(deadline.due_at)
        return f"{deadline} on {when:%Y-%m-%d %H:%M} added; reminders go out 7 days and 1 day before."

    _submit(request, DeadlineForm(request.POST), add)
    return _back_to_matter(matter.pk)


@login_required
def matter_deadline_update(request: HttpRequest, matter_id: int, deadline_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id, action="change")
    deadline = deadline_for_user(user, deadline_id)
    if deadline.matter_id != matter.pk:
        raise Http404("No such deadline.")
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused

    def change(data: dict[str, Any]) -> str:
        done = {"yes": True, "no": False}.get(data["done"])
        return f"{deadline_change(deadline=deadline, by=user, due_at=data['due_at'], done=done)} updated."

    _submit(request, DeadlineChangeForm(request.POST), change)
    return _back_to_matter(matter.pk)


# --- Calendar ----------------------------------------------------------------------------


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    user = require_staff(request)
    if refused := wrong_method(request, "GET"):
        return refused
    form = CalendarForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    scope = data.get("scope") or "mine"
    start = data.get("start") or timezone.localdate()
    weeks = data.get("weeks") or 4
    end = start + datetime.timedelta(days=7 * weeks - 1)
    person = data.get("person") if scope == "firm" else None
    entries = calendar_entries(user, start=start, end=end, scope=scope, person=person)
    days: dict[datetime.date, list[Any]] = {}
    for entry in entries:
        days.setdefault(entry.day, []).append(entry)
    context = {
        "form": form,
        "scope": scope,
        "start": start,
        "end": end,
        "days": sorted(days.items()),
        "today": timezone.localdate(),
        "feed": calendar_feed_live(user),
        "earlier": start - datetime.timedelta(days=7 * weeks),
        "later": end + datetime.timedelta(days=1),
        "weeks": weeks,
        "person": person,
    }
    return render(request, "portal/staff_calendar.html", context)


@login_required
def calendar_feed_manage(request: HttpRequest) -> HttpResponse:
    """POST action=issue: a new private address (shown once, the old one stops); action=revoke: none."""
    user = require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused
    if request.POST.get("action") == "revoke":
        calendar_feed_revoke(user=user)
        flash.success(request, "Your calendar feed is off; the old address no longer works.")
        return HttpResponseRedirect(reverse("portal:calendar"))
    token = calendar_feed_issue(user=user)
    address = firm_link(reverse("portal:calendar_feed", kwargs={"token": token}))
    return render(request, "portal/staff_calendar_feed.html", {"address": address})


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private feed: iCalendar of the token's owner, no session needed (calendar apps have none)."""
    if refused := wrong_method(request, "GET"):
        return refused
    user = calendar_feed_user(token)

    def link(matter: Matter) -> str:
        return firm_link(reverse("portal:staff_matter", kwargs={"matter_id": matter.pk}))

    body = calendar_ics(user, firm_name=request.tenant.name, link=link)  # type: ignore[attr-defined]
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = 'inline; filename="portico.ics"'
    return response


# --- Receipt notices and search ------------------------------------------------------------


@login_required
def matter_receipt_add(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id, action="change")
    require_staff(request)
    if refused := wrong_method(request, "POST"):
        return refused

    def add(data: dict[str, Any]) -> str:
        receipt = receipt_add(matter=matter, by=user, **data)
        return f"Receipt {receipt.receipt_number} ({receipt.form}) recorded."

    _submit(request, ReceiptForm(request.POST), add)
    return _back_to_matter(matter.pk)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """One box for clients (name, email), matters (reference, title, receipt number) and invoices (number)."""
    from billing.access import invoices_for_user
    from core.access import clients_for_user
    from core.matter_search import matters_search
    from core.roles import VIEW_BILLING

    user = require_staff(request)
    if refused := wrong_method(request, "GET"):
        return refused
    text = request.GET.get("q", "").strip()[:100]
    context: dict[str, Any] = {"q": text, "searched": bool(text)}
    if text:
        receipt = re.sub(r"[\s-]", "", text).upper()
        matters = matters_search(user, text=text)
        by_receipt = (
            matters_search(user).filter(receipts__receipt_number__icontains=receipt) if len(receipt) >= 4 else []
        )
        context["matters"] = list({matter.pk: matter for matter in [*by_receipt, *matters[:50]]}.values())[:50]
        context["clients"] = clients_for_user(user).filter(Q(full_name__icontains=text) | Q(email__icontains=text))[:20]
        if user.has_perm(VIEW_BILLING):
            digits = text.lstrip("#")
            invoices = invoices_for_user(user).select_related("client", "matter")
            if digits.isdigit() and len(digits) < 10:
                context["invoices"] = invoices.filter(number=int(digits))[:20]
            else:
                context["invoices"] = invoices.filter(
                    Q(client__full_name__icontains=text) | Q(matter__reference__icontains=text), number__isnull=False
                ).order_by("-number")[:20]
    return render(request, "portal/staff_search.html", context)
