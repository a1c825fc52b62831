"""At-risk matters (SPEC §8): an overdue balance on a matter whose next checklist item falls due soon.

Portico keeps no filing deadline on a matter yet; the dates it has are the
checklist's due dates (``core.checklist``: each requirement is due a number of
days after the matter opened). A matter is at risk when it has an invoice past
its due date with a balance, and a checklist item not yet accepted is due within
the firm's ``CollectionsSettings.at_risk_days`` (or is already late). When a
filing deadline field exists, it belongs next to the checklist date here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from billing.collections.aging import AgedInvoice, aged_invoices
from billing.collections.models import CollectionsSettings
from billing.money import Money
from core.checklist import ACCEPTED, ChecklistLine, checklist_for
from core.models import Matter


@dataclass(frozen=True)
class AtRisk:
    matter: Matter
    overdue: Money
    invoices: list[AgedInvoice]
    oldest_days_past_due: int
    item: ChecklistLine

    @property
    def days_to_due(self) -> int:
        return (self.item.due_date - self.today).days

    today: date = date.min


def at_risk_matters(*, today: date, currency: str, within_days: int | None = None) -> list[AtRisk]:
    """Matters with an overdue balance and a checklist item due within ``within_days``, soonest item first."""
    within = CollectionsSettings.load().at_risk_days if within_days is None else within_days
    overdue: dict[int, list[AgedInvoice]] = defaultdict(list)
    for item in aged_invoices(as_of=today, currency=currency):
        if item.days_past_due > 0 and item.balance.minor > 0:
            overdue[item.invoice.matter_id].append(item)
    horizon = today + timedelta(days=within)
    found = []
    for matter in Matter.objects.filter(pk__in=overdue).select_related("client", "responsible_attorney"):
        pending = [line for line in checklist_for(matter) if line.status != ACCEPTED and line.due_date <= horizon]
        if not pending:
            continue
        items = overdue[matter.pk]
        found.append(
            AtRisk(
                matter=matter,
                overdue=Money(sum(i.balance.minor for i in items), currency),
                invoices=items,
                oldest_days_past_due=max(i.days_past_due for i in items),
                item=min(pending, key=lambda line: line.due_date),
                today=today,
            )
        )
    return sorted(found, key=lambda risk: (risk.item.due_date, -risk.overdue.minor))
