"""Tasks, deadlines, the calendar, the private iCalendar feed and deadline reminders (issue 11 item 3).

In-process through the real views (Django's test client) on the shared cast; reminders run the Celery tasks
eagerly in this process (the worker tests elsewhere prove the fan-out on a real worker), mail in the locmem
outbox. The feed is read without a session, as a calendar app reads it, and parsed with ``icalendar``.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import icalendar
import pytest
from django.core import mail
from django.utils import timezone

from core.audit.actions import AuditAction
from core.audit.models import AuditEntry
from core.models import Deadline, DeadlineReminder, Task
from core.stages import matter_advance_stage
from core.work import deadline_create, deadline_reminders_queue, task_create

if TYPE_CHECKING:
    from tests.support.cast import Cast

pytestmark = pytest.mark.django_db(transaction=False)


def _text(response: object) -> str:
    return re.sub(r"\s+", " ", response.content.decode())  # type: ignore[attr-defined]


def test_a_task_added_on_the_matter_page_is_the_assignees_and_done_is_audited(cast: Cast) -> None:
    arthur = cast.firm.client(cast.arthur)
    response = arthur.post(
        f"/staff/matters/{cast.m1.pk}/tasks/",
        {
            "title": "Call Carol about her prior marriage",
            "assignee": cast.pete.pk,
            "due_on": "2030-01-15",
            "priority": "high",
        },
    )
    assert response.status_code == 302
    page = _text(arthur.get(f"/staff/matters/{cast.m1.pk}/"))
    assert "Call Carol about her prior marriage" in page
    assert "Pete" in page
    assert "Tue 15 Jan 2030" in page

    pete = cast.firm.client(cast.pete)
    mine = _text(pete.get("/staff/tasks/"))
    assert "Call Carol about her prior marriage" in mine
    assert "2025-0001" in mine
    assert "High" in mine
    assert "Call Carol about her prior marriage" not in _text(arthur.get("/staff/tasks/"))  # not Arthur's own
    assert "Call Carol about her prior marriage" in _text(arthur.get("/staff/tasks/?who=all"))
    # Anna works on nothing: she neither sees the task nor reaches it.
    anna = cast.firm.client(cast.anna)
    assert "Call Carol" not in _text(anna.get("/staff/tasks/?who=all"))
    with cast.firm.tenant:
        task = Task.objects.get(title="Call Carol about her prior marriage")
    assert anna.post(f"/staff/tasks/{task.pk}/", {"state": "done"}).status_code == 404
    assert cast.firm.client(cast.dan).get("/staff/tasks/").status_code == 403

    done_page = _text(pete.post(f"/staff/tasks/{task.pk}/", {"state": "done"}, follow=True))
    assert "Task “Call Carol about her prior marriage” is done." in done_page
    assert f'data-testid="task-{task.pk}"' not in done_page
    assert "Call Carol about her prior marriage" not in _text(pete.get("/staff/tasks/"))
    assert "Call Carol about her prior marriage" in _text(pete.get("/staff/tasks/?state=done"))
    with cast.firm.tenant:
        done = AuditEntry.objects.filter(action=AuditAction.TASK_DONE, target_id=str(task.pk)).get()
        assert done.actor_id == cast.pete.pk
        assert json.loads(done.data)["after"]["state"] == "done"
        assert AuditEntry.objects.filter(action=AuditAction.TASK_CREATED, target_id=str(task.pk)).exists()


def test_a_task_needs_a_title_and_an_active_staff_assignee(cast: Cast) -> None:
    arthur = cast.firm.client(cast.arthur)
    response = arthur.post("/staff/tasks/", {"title": "", "priority": "normal"})
    assert response.status_code == 400
    assert "This field is required." in _text(response)
    response = arthur.post("/staff/tasks/", {"title": "Chase the courier", "assignee": cast.carol.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in _text(response)
    with cast.firm.tenant:
        assert not Task.objects.filter(title="Chase the courier").exists()
    assert arthur.post("/staff/tasks/", {"title": "Chase the courier", "priority": "low"}).status_code == 302
    assert "Chase the courier" in _text(arthur.get("/staff/tasks/?who=unassigned"))


def test_the_firms_checklist_lines_and_each_stage_become_tasks_that_close_themselves(cast: Cast) -> None:
    from core.documents import document_review
    from tests.support.casework import upload

    with cast.firm.tenant:
        g28 = Task.objects.get(source=Task.Source.CHECKLIST, matter=cast.m1, title__startswith="Signed notice")
        assert g28.assignee == cast.pete
        assert g28.due_on is not None
        assert g28.is_open
        document = upload(cast.m1, "g28", cast.arthur)
        document_review(document=document, by=cast.arthur, decision="accept")
        g28.refresh_from_db()
        assert g28.state == Task.State.DONE

        first = cast.m1.stage
        assert first is not None
        stage_task = Task.objects.get(source=Task.Source.STAGE, source_key=f"stage:{cast.m1.pk}:{first.pk}")
        assert stage_task.is_open
        matter = matter_advance_stage(matter=cast.m1, by=cast.arthur)
        stage_task.refresh_from_db()
        assert stage_task.state == Task.State.DONE
        assert matter.stage is not None
        entered = Task.objects.get(source_key=f"stage:{cast.m1.pk}:{matter.stage.pk}")
        assert entered.is_open
        assert entered.title.startswith(matter.stage.name_en)


def test_a_billing_task_is_in_the_billing_clerks_list_and_done_there_is_done_in_billing(cast: Cast) -> None:
    from billing.trust.models import BillingTask

    with cast.firm.tenant:
        billing_task = BillingTask.objects.create(
            kind=BillingTask.Kind.LOW_TRUST_BALANCE, client=cast.dan, message="Ask Dan to top up his trust balance"
        )
        task = Task.objects.get(source_key=f"billing:{billing_task.pk}")
    bill = cast.firm.client(cast.bill)
    assert "Ask Dan to top up his trust balance" in _text(bill.get("/staff/tasks/?who=unassigned"))
    assert cast.firm.client(cast.anna).post(f"/staff/tasks/{task.pk}/", {"state": "done"}).status_code == 404
    assert bill.post(f"/staff/tasks/{task.pk}/", {"state": "done"}).status_code == 302
    with cast.firm.tenant:
        billing_task.refresh_from_db()
        assert billing_task.done_at is not None


def test_deadlines_added_on_the_matter_show_on_the_calendars_of_those_who_work_it(cast: Cast) -> None:
    arthur = cast.firm.client(cast.arthur)
    when = timezone.localtime() + timedelta(days=5)
    response = arthur.post(
        f"/staff/matters/{cast.m1.pk}/deadlines/",
        {
            "kind": "interview",
            "title": "Marriage interview",
            "due_at": when.strftime("%Y-%m-%dT09:30"),
            "location": "USCIS Newark field office",
        },
    )
    assert response.status_code == 302
    day = when.strftime("%Y-%m-%d")
    calendar = arthur.get("/staff/calendar/")
    page = _text(calendar)
    assert f'data-testid="day-{day}"' in page
    assert "09:30" in page
    assert "Marriage interview — 2025-0001" in page
    assert "USCIS Newark" in page
    # Paula (partner) sees it in the firm's calendar, not in her own; Anna (on nothing) in neither.
    paula = cast.firm.client(cast.paula)
    assert "Marriage interview" in _text(paula.get("/staff/calendar/?scope=firm"))
    assert "Marriage interview" in _text(paula.get(f"/staff/calendar/?scope=firm&person={cast.arthur.pk}"))
    assert "Marriage interview" not in _text(paula.get(f"/staff/calendar/?scope=firm&person={cast.anna.pk}"))
    assert "Marriage interview" not in _text(paula.get("/staff/calendar/"))
    anna = cast.firm.client(cast.anna)
    assert "Marriage interview" not in _text(anna.get("/staff/calendar/?scope=firm"))
    with cast.firm.tenant:
        deadline = Deadline.objects.get(title="Marriage interview")
        assert deadline.responsible == cast.arthur  # the responsible attorney by default
    # Done: off the calendar; audited.
    marked = arthur.post(f"/staff/matters/{cast.m1.pk}/deadlines/{deadline.pk}/", {"done": "yes"}, follow=True)
    assert "Marriage interview updated." in _text(marked)
    assert "Done " in _text(marked)
    assert "Marriage interview" not in _text(arthur.get("/staff/calendar/"))
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action=AuditAction.DEADLINE_CHANGED, target_id=str(deadline.pk)).exists()
    # A deadline of M1 named under another matter's address is not found.
    assert arthur.post(f"/staff/matters/{cast.m2.pk}/deadlines/{deadline.pk}/", {"done": "no"}).status_code in (
        403,
        404,
    )


def test_a_deadline_needs_a_kind_and_a_time(cast: Cast) -> None:
    arthur = cast.firm.client(cast.arthur)
    response = arthur.post(f"/staff/matters/{cast.m1.pk}/deadlines/", {"kind": "", "due_at": "next week"}, follow=True)
    page = _text(response)
    assert "This field is required." in page
    assert "Enter a valid date/time." in page
    with cast.firm.tenant:
        assert not Deadline.objects.filter(matter=cast.m1, title="").exclude(kind="biometrics").exists()


def test_checklist_due_dates_are_on_the_paralegals_calendar(cast: Cast) -> None:
    from core.checklist import checklist_for

    with cast.firm.tenant:
        line = next(line for line in checklist_for(cast.m1) if line.required and line.status != "accepted")
    start = line.due_date - timedelta(days=1)
    page = _text(cast.firm.client(cast.pete).get(f"/staff/calendar/?start={start:%Y-%m-%d}&weeks=1"))
    assert f"{line.requirement.name_en} due — 2025-0001" in page


def test_the_private_feed_serves_the_owners_calendar_without_a_session_and_stops_when_replaced(cast: Cast) -> None:
    with cast.firm.tenant:
        due = timezone.now() + timedelta(days=2)
        deadline_create(matter=cast.m1, by=cast.arthur, kind="filing", title="File the I-130", due_at=due)
    arthur = cast.firm.client(cast.arthur)
    shown = _text(arthur.post("/staff/calendar/feed/", {"action": "issue"}))
    address = re.search(r'data-testid="feed-address" value="([^"]+)"', shown) or re.search(
        r'value="(http[^"]+\.ics)"', shown
    )
    assert address, shown
    url = address.group(1)
    assert url.startswith("http://acme.localhost")
    assert url.endswith(".ics")
    path = url.split("acme.localhost", 1)[1].split("/", 1)[1]

    anonymous = cast.firm.client()
    response = anonymous.get(f"/{path}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    feed = icalendar.Calendar.from_ical(response.content)
    summaries = {str(event["summary"]) for event in feed.walk("VEVENT")}
    assert "File the I-130 — 2025-0001" in summaries
    assert any(str(event.get("url", "")).startswith("http://acme.localhost") for event in feed.walk("VEVENT"))
    assert ", last read " in _text(arthur.get("/staff/calendar/"))

    # The token opens nothing on another firm's site, and a new address turns the old one off.
    from tests.support.firms import FIRM_B, firm_load

    assert firm_load(FIRM_B).client().get(f"/{path}").status_code == 404
    arthur.post("/staff/calendar/feed/", {"action": "issue"})
    assert anonymous.get(f"/{path}").status_code == 404
    arthur.post("/staff/calendar/feed/", {"action": "revoke"})
    assert "Off." in _text(arthur.get("/staff/calendar/"))
    for bad in ("x", "a" * 43, "../../etc/passwd", "%00" * 30):
        assert anonymous.get(f"/calendar/{bad}.ics").status_code == 404
    with cast.firm.tenant:
        actions = list(
            AuditEntry.objects.filter(actor_id=cast.arthur.pk, action__startswith="calendar_feed.").values_list(
                "action", flat=True
            )
        )
    assert actions.count(AuditAction.CALENDAR_FEED_ISSUED) == 2
    assert AuditAction.CALENDAR_FEED_REVOKED in actions


def test_deadline_reminders_go_out_once_per_offset_to_each_person_in_their_language(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    from core.celery import app as celery_app

    celery_app.conf.task_always_eager = True  # the send task runs here when its reminder row commits
    try:
        with cast.firm.tenant:
            cast.pete.preferred_language = "es"
            cast.pete.save(update_fields=["preferred_language"])
            now = timezone.now()
            soon = deadline_create(
                matter=cast.m1, by=cast.arthur, kind="biometrics", due_at=now + timedelta(days=6), location="ASC Newark"
            )
            tomorrow = deadline_create(
                matter=cast.m1, by=cast.arthur, kind="rfe_response", due_at=now + timedelta(hours=20)
            )
            deadline_create(matter=cast.m1, by=cast.arthur, kind="interview", due_at=now + timedelta(days=30))
            mail.outbox.clear()
            with django_capture_on_commit_callbacks(execute=True):
                written = deadline_reminders_queue(now=now)
            with django_capture_on_commit_callbacks(execute=True):
                again = deadline_reminders_queue(now=now + timedelta(minutes=5))
            assert again == []
            rows = DeadlineReminder.objects.filter(pk__in=written)
            assert {(row.deadline_id, row.days_before, row.recipient_id) for row in rows} == {
                (soon.pk, 7, cast.arthur.pk),
                (soon.pk, 7, cast.pete.pk),
                (tomorrow.pk, 1, cast.arthur.pk),
                (tomorrow.pk, 1, cast.pete.pk),
            }
            # Five days on, the biometrics appointment is within a day: one more each, none for the far interview.
            with django_capture_on_commit_callbacks(execute=True):
                later = deadline_reminders_queue(now=now + timedelta(days=5, hours=1))
            assert {(row.deadline_id, row.days_before) for row in DeadlineReminder.objects.filter(pk__in=later)} == {
                (soon.pk, 1)
            }
    finally:
        celery_app.conf.task_always_eager = False
    to_pete = [message for message in mail.outbox if message.to == [cast.pete.email]]
    to_arthur = [message for message in mail.outbox if message.to == [cast.arthur.email]]
    assert len(to_pete) == 3
    assert len(to_arthur) == 3
    assert all(message.subject.startswith("Recordatorio:") for message in to_pete), [m.subject for m in to_pete]
    assert all(message.subject.startswith("Reminder:") for message in to_arthur)
    biometrics = next(message for message in to_arthur if "Biometrics" in message.subject)
    assert "2025-0001" in biometrics.subject
    assert "ASC Newark" in biometrics.body
    assert f"http://acme.localhost:8000/staff/matters/{cast.m1.pk}/" in biometrics.body
    assert "Acme" in biometrics.from_email


def test_task_create_refuses_a_matter_the_person_may_not_change(cast: Cast) -> None:
    from django.core.exceptions import PermissionDenied

    with cast.firm.tenant, pytest.raises(PermissionDenied):
        task_create(title="Peek", by=cast.anna, matter=cast.m1)
    assert cast.firm.client(cast.anna).post(f"/staff/matters/{cast.m1.pk}/tasks/", {"title": "Peek"}).status_code == 404


def test_a_receipt_number_is_recorded_on_the_matter_and_finds_it_in_search(cast: Cast) -> None:
    arthur = cast.firm.client(cast.arthur)
    bad = arthur.post(
        f"/staff/matters/{cast.m1.pk}/receipts/", {"receipt_number": "IOE12", "form": "I-130"}, follow=True
    )
    assert "A receipt number is three letters and ten digits" in _text(bad)
    added = arthur.post(
        f"/staff/matters/{cast.m1.pk}/receipts/",
        {"receipt_number": "ioe 0912345678", "form": "I-130", "received_on": "2026-11-02"},
        follow=True,
    )
    page = _text(added)
    assert "Receipt IOE0912345678 (I-130) recorded." in page
    assert 'data-testid="receipt-IOE0912345678"' in page
    again = arthur.post(f"/staff/matters/{cast.m1.pk}/receipts/", {"receipt_number": "IOE0912345678", "form": "I-485"})
    assert again.status_code == 302
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action=AuditAction.RECEIPT_ADDED, target_id=str(cast.m1.pk)).count() == 1

    found = _text(arthur.get("/staff/search/?q=IOE-0912345678"))
    assert f'data-testid="found-matter-{cast.m1.pk}"' in found
    by_name = _text(arthur.get("/staff/search/?q=carol"))
    assert f'data-testid="found-matter-{cast.m1.pk}"' in by_name
    assert f'data-testid="found-client-{cast.carol.pk}"' in by_name
    # Anna reaches no matter of Carol's: neither the receipt nor the name finds anything of hers.
    anna = _text(cast.firm.client(cast.anna).get("/staff/search/?q=IOE0912345678"))
    assert "2025-0001" not in anna
    assert "No matter matches." in anna
    assert cast.firm.client(cast.dan).get("/staff/search/?q=carol").status_code == 403


def test_billing_staff_find_an_invoice_by_its_number(cast: Cast) -> None:
    from billing.fees.models import FeeTemplate
    from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue

    with cast.firm.tenant:
        invoice = invoice_create(matter=cast.m2, by=cast.alice)
        invoice_add_fee(invoice=invoice, template=FeeTemplate.objects.get(code="PET-FLAT"))
        invoice = invoice_issue(invoice=invoice, by=cast.alice)
    found = _text(cast.firm.client(cast.bill).get(f"/staff/search/?q=%23{invoice.number}"))
    assert f'data-testid="found-invoice-{invoice.pk}"' in found
    # Pete is no billing staff: no invoices section at all.
    assert "Invoices</h2>" not in _text(cast.firm.client(cast.pete).get(f"/staff/search/?q={invoice.number}"))
