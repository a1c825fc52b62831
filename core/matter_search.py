"""Finding matters in the staff workspace: text search and filters over the matters a user may see.

Interfaces:

* ``matters_search(user, *, text="", matter_type="", stage="", status="", mine=False) -> QuerySet[Matter]``
  — ``text`` matches the reference, title, client name or email; the related
  rows the list shows are joined in, so the query count does not grow with rows.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from core.access import Person, matters_for_user
from core.models import Document, Matter


def matters_search(
    user: Person, *, text: str = "", matter_type: str = "", stage: str = "", status: str = "", mine: bool = False
) -> QuerySet[Matter]:
    found = matters_for_user(user)
    text = text.strip()
    if text:
        found = found.filter(
            Q(reference__icontains=text)
            | Q(title__icontains=text)
            | Q(client__email__icontains=text)
            | Q(client__full_name__icontains=text)
        )
    if matter_type:
        found = found.filter(matter_type__code=matter_type)
    if stage:
        found = found.filter(stage__code=stage)
    if status:
        found = found.filter(status=status)
    if mine:
        found = found.filter(Q(assigned_paralegal=user) | Q(responsible_attorney=user))
    return (
        found.select_related("client", "matter_type", "stage", "assigned_paralegal", "responsible_attorney")
        .annotate(waiting=Count("documents", filter=Q(documents__status=Document.Status.RECEIVED)))
        .order_by("-updated", "-id")
    )
