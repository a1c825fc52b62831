"""Collections and intake KPIs (SPEC §8): each a value, its formula in words, and the rows behind it.

Every KPI is computed live over a ``KpiScope``: a period (first and last day,
both included), the firm's currency, and optionally a responsible attorney and a
matter type (filters on the matter the row belongs to). What each one reads:

* ``dso`` — days sales outstanding: receivables on the period's last day (the
  ledger's, per invoice, as the aging reads them) ÷ amounts invoiced in the
  period x days in the period.
* ``collection_30`` — of the invoices issued in the period, what was paid
  within 30 days of issue ÷ what they billed.
* ``write_off_rate`` — of the invoices issued in the period, what was written
  off ÷ what they billed.
* ``turnaround`` — days from an invoice's draft (a completed stage, a recurring
  plan's day, or staff starting one: ``Invoice.created``) to its issue date.
* ``retainer_capture`` — days from a retainer request to its money posted into
  trust (the card payment's journal entry).
* ``time_to_intake`` — days from the client's invitation (``User.invited_at``)
  to the intake questionnaire's completion (``Matter.intake_completed_at``).
* ``complete_intake`` — of the matters whose required documents were all
  accepted in the period, the share with no rejection on the way.
* ``review_time`` — hours from a document's upload to the review decision.
* ``portal_adoption`` — of the clients with a matter opened by the period's
  end, the share who signed in; the shares who uploaded and paid online too.

Rows are plain values (ids for drill-down links, dates as ISO strings, amounts
in minor units), the same for the page, the CSV and the API. ``base`` holds the
scope and the KPI's shape, ``invoicing`` and ``intake`` the KPIs; here are the
registry (``KPIS``), the trend over earlier periods (the charts) and the CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from billing.collections.kpis.base import DAYS, HOURS, PERCENT, Kpi, KpiRow, KpiScope, display
from billing.collections.kpis.intake import complete_intake, portal_adoption, review_time, time_to_intake
from billing.collections.kpis.invoicing import collection_30, dso, retainer_capture, turnaround, write_off_rate

__all__ = [
    "DAYS",
    "HOURS",
    "KPIS",
    "PERCENT",
    "Kpi",
    "KpiRow",
    "KpiScope",
    "KpiTrend",
    "display",
    "kpi_compute",
    "kpi_csv_lines",
    "kpi_trend",
    "kpis_all",
]

KPIS: dict[str, Callable[[KpiScope], Kpi]] = {
    "dso": dso,
    "collection_30": collection_30,
    "write_off_rate": write_off_rate,
    "turnaround": turnaround,
    "retainer_capture": retainer_capture,
    "time_to_intake": time_to_intake,
    "complete_intake": complete_intake,
    "review_time": review_time,
    "portal_adoption": portal_adoption,
}


@dataclass
class KpiTrend:
    """A KPI over the scope, with its value in each of the periods before (oldest first, this one last)."""

    kpi: Kpi
    periods: list[tuple[KpiScope, float | None]]

    @property
    def previous(self) -> float | None:
        return self.periods[-2][1] if len(self.periods) > 1 else None


def kpi_compute(key: str, scope: KpiScope) -> Kpi:
    if key not in KPIS:
        raise KeyError(key)
    return KPIS[key](scope)


def kpi_trend(key: str, scope: KpiScope, *, periods: int = 6) -> KpiTrend:
    """The KPI for ``scope`` and its value over the ``periods - 1`` periods of the same length before it."""
    kpi = kpi_compute(key, scope)
    earlier: list[tuple[KpiScope, float | None]] = []
    step = scope
    for _n in range(periods - 1):
        step = step.previous()
        earlier.append((step, KPIS[key](step).value))
    return KpiTrend(kpi=kpi, periods=[*reversed(earlier), (scope, kpi.value)])


def kpis_all(scope: KpiScope, *, periods: int = 6) -> list[KpiTrend]:
    return [kpi_trend(key, scope, periods=periods) for key in KPIS]


def kpi_csv_lines(kpi: Kpi, scope: KpiScope) -> list[list[str]]:
    """The rows behind ``kpi`` as CSV lines, with the value, period and currency on a closing line."""
    lines = [list(kpi.columns)]
    lines += [["" if row.cells.get(c) is None else str(row.cells.get(c)) for c in kpi.columns] for row in kpi.rows]
    value = "" if kpi.value is None else str(kpi.value)
    lines.append(["VALUE", value, kpi.unit, scope.start.isoformat(), scope.end.isoformat(), scope.currency])
    return lines
