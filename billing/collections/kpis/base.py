"""What every KPI is made of: the scope it reads, its rows, its value and how the value reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from babel.numbers import format_decimal
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core.models import User

Cell = str | int | float | None

PERCENT, DAYS, HOURS = "percent", "days", "hours"


@dataclass(frozen=True)
class KpiScope:
    """Which rows a KPI reads: the period (both days included), currency, attorney and matter type filters."""

    start: date
    end: date
    currency: str
    attorney: User | None = None
    matter_type: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> KpiScope:
        """The period of the same length just before this one (same filters)."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def matters(self, prefix: str = "") -> Q:
        """The attorney and matter-type filters, on the matter reached through ``prefix`` (e.g. ``"matter__"``)."""
        found = Q()
        if self.attorney is not None:
            found &= Q(**{f"{prefix}responsible_attorney": self.attorney})
        if self.matter_type:
            found &= Q(**{f"{prefix}matter_type__code": self.matter_type})
        return found

    @property
    def after(self) -> datetime:
        """The first moment after the period (the start of the next day, in the firm's time zone)."""
        return datetime.combine(
            self.end + timedelta(days=1), datetime.min.time(), tzinfo=timezone.get_current_timezone()
        )

    def moments(self, name: str) -> dict[str, datetime]:
        """``{name}__gte``/``{name}__lt`` bounds for a timestamp column over the period's days."""
        first = datetime.combine(self.start, datetime.min.time(), tzinfo=timezone.get_current_timezone())
        return {f"{name}__gte": first, f"{name}__lt": self.after}


@dataclass
class KpiRow:
    """One row behind a KPI: its cells by column, and what it links to (an invoice, a matter, a client)."""

    cells: dict[str, Cell]
    invoice_id: int | None = None
    matter_id: int | None = None
    client_id: int | None = None


@dataclass
class Kpi:
    key: str
    name: str
    formula: str
    unit: str
    value: float | None
    numerator: float
    denominator: float
    columns: tuple[str, ...]
    rows: list[KpiRow]
    parts: list[tuple[str, float | None]] = field(default_factory=list)

    @property
    def display(self) -> str:
        return display(self.value, self.unit)


def display(value: float | None, unit: str) -> str:
    """A KPI value as people read it ("42.5%", "12.3 days"; "—" when there is nothing to measure)."""
    if value is None:
        return "—"
    number = format_decimal(value, format="#,##0.0", locale=(translation.get_language() or "en").replace("-", "_"))
    if unit == PERCENT:
        return f"{number}%"
    if unit == HOURS:
        return str(_("%(n)s hours") % {"n": number})
    return str(_("%(n)s days") % {"n": number})


def share(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def days_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 2)


def iso(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        return timezone.localtime(day).isoformat(timespec="minutes")
    return day.isoformat()
