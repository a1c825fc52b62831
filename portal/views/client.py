"""The client portal: a client's (or outside counsel's) own matters, and each matter's checklist.

Every page reaches its matter through ``core.access.matter_for_user`` (404
when it is missing or not theirs) before anything else happens.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.access import is_client_of, is_party_to, matter_for_user, matters_for_user
from core.checklist import checklist_for
from core.intake import intake_is_complete, intake_questions_for
from core.messages import messages_for
from core.models import Matter
from portal.guards import signed_in_user, wrong_method


@login_required
def matter_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if refused := wrong_method(request, "GET"):
        return refused
    matters = matters_for_user(user).select_related("responsible_attorney", "matter_type", "stage")
    return render(request, "portal/client_matters.html", {"matters": matters})


def checklist_sections(matter: Matter) -> dict[str, object]:
    """The checklist as the client reads it: what is needed from them, what is with the firm, what is done."""
    lines = checklist_for(matter)
    mine = [line for line in lines if line.responsible == "client"]
    needed = [line for line in mine if line.needs_upload]
    waiting = [line for line in mine if line.status == "received"]
    accepted = [line for line in mine if line.status == "accepted"]
    required = [line for line in mine if line.required]
    return {
        "needed": needed,
        "waiting": waiting,
        "accepted": accepted,
        "firm_lines": [line for line in lines if line.responsible != "client"],
        "client_total": len(mine),
        "client_done": len(accepted),
        "client_complete": bool(required) and all(line.status == "accepted" for line in required),
    }


@login_required
def matter_detail(request: HttpRequest, matter_id: int) -> HttpResponse:
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    if refused := wrong_method(request, "GET"):
        return refused
    grant = matter.grants.filter(grantee=user, revoked_at__isnull=True).first()
    questions = intake_questions_for(matter)
    context = {
        "matter": matter,
        "grant": grant,
        "has_intake": bool(questions),
        "intake_complete": intake_is_complete(matter),
        "read_only": not is_party_to(user, matter),  # outside counsel: no thread, no upload, no answers
        "message_count": messages_for(matter).count(),
        "is_client": is_client_of(user, matter),
        **checklist_sections(matter),
    }
    return render(request, "portal/client_matter.html", context)
