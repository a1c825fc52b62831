"""API for collections (/api/v1/billing/collections/..., /api/v1/billing/invoices/<id>/reminders).

Billing staff only (``billing.view_billing``; a token needs ``billing:read``).
The aging is the staff page's (``billing.collections.aging``): buckets of days
past due on any day, grouped by client, matter or responsible attorney, amounts
in minor units, and totals that equal the ledger's receivables. An invoice's
reminders are reached through the invoice's accessor first (404), then the role (403).
The KPIs are the staff page's (``billing.collections.kpis``): ``collections/kpis``
gives every KPI's value and formula for a period and filters, ``collections/kpis/rows?kpi=``
one KPI with the rows behind it (the page's drill-down and CSV).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import ApiView
from api.pagination import CursorPage, paginated
from api.permissions import ObjectView, staff_user
from billing.access import attorney_for_billing, invoice_for_user
from billing.collections.aging import BUCKETS, GROUPINGS, AgingRow, aging_report
from billing.collections.kpis import KPIS, Kpi, KpiScope, kpi_compute
from billing.invoices.models import Invoice
from billing.ledger.accounts import default_currency
from billing.money import known_currency
from core.models import MatterType
from core.roles import VIEW_BILLING


class AgingQuery(serializers.Serializer[Any]):
    as_of = serializers.DateField(required=False, help_text="The day (default: today).")
    currency = serializers.CharField(
        required=False, allow_blank=True, max_length=3, help_text="ISO 4217 (default, or empty: the firm's)."
    )
    by = serializers.ChoiceField(
        choices=list(GROUPINGS), required=False, allow_blank=True, help_text="Default, or empty: client."
    )

    def validate_currency(self, value: str) -> str:
        if value and not known_currency(value):
            raise serializers.ValidationError("not an ISO 4217 currency")
        return value


class BucketsOut(serializers.Serializer[Any]):
    current_minor = serializers.IntegerField()
    days_1_30_minor = serializers.IntegerField()
    days_31_60_minor = serializers.IntegerField()
    days_61_90_minor = serializers.IntegerField()
    over_90_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    invoices = serializers.IntegerField()


class AgingRowOut(BucketsOut):
    key = serializers.IntegerField(allow_null=True, help_text="The client's, matter's or attorney's id (null: none).")
    name = serializers.CharField(help_text="The client's or attorney's name, or the matter's reference and title.")
    unclaimed = serializers.BooleanField(help_text="Receivable lines no invoice claims (none are posted today).")


class AgingOut(serializers.Serializer[Any]):
    as_of = serializers.DateField()
    currency = serializers.CharField()
    by = serializers.ChoiceField(choices=list(GROUPINGS))
    rows = AgingRowOut(many=True)
    totals = BucketsOut()


_FIELDS = dict(
    zip(
        BUCKETS,
        ("current_minor", "days_1_30_minor", "days_31_60_minor", "days_61_90_minor", "over_90_minor"),
        strict=True,
    )
)


def _amounts(row: AgingRow) -> dict[str, int]:
    return {_FIELDS[bucket]: row.minor[bucket] for bucket in BUCKETS} | {
        "total_minor": row.total_minor,
        "invoices": row.invoices,
    }


class BillingStaffView(ApiView):
    """Checks the role before DRF picks the handler, so a wrong method is 403 too, never a 405 hint."""

    scope_area = "billing"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        staff_user(request, VIEW_BILLING)


class Aging(BillingStaffView):
    @extend_schema(parameters=[AgingQuery], responses=AgingOut)
    def get(self, request: Request) -> Response:
        query = AgingQuery(data=request.query_params.dict())  # a plain dict: an empty value is refused, not ignored
        query.is_valid(raise_exception=True)
        report = aging_report(
            as_of=query.validated_data.get("as_of") or timezone.localdate(),
            currency=query.validated_data.get("currency") or default_currency(),
            by=query.validated_data.get("by") or "client",
        )
        rows = [{"key": row.key, "name": row.label, "unclaimed": row.unclaimed, **_amounts(row)} for row in report.rows]
        return Response(
            {
                "as_of": report.as_of,
                "currency": report.currency,
                "by": report.by,
                "rows": rows,
                "totals": _amounts(report.totals),
            }
        )


class ReminderOut(serializers.Serializer[Any]):
    tier = serializers.CharField()
    offset_days = serializers.IntegerField()
    status = serializers.CharField()
    language = serializers.CharField()
    fired_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    recipients = serializers.CharField()
    note = serializers.CharField()


class InvoiceReminders(ObjectView):
    """Which reminders went out on the invoice, and when."""

    scope_area = "billing"
    invoice: Invoice

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.invoice = invoice_for_user(request.user, kwargs["invoice_id"])
        staff_user(request, VIEW_BILLING)

    pagination_class = CursorPage

    @extend_schema(responses=ReminderOut(many=True))
    def get(self, request: Request, invoice_id: int) -> Response:
        def rows(page: Sequence[Any]) -> Any:
            reminders = [
                {
                    "tier": sent.tier.name,
                    "offset_days": sent.tier.offset_days,
                    "status": sent.status,
                    "language": sent.language,
                    "fired_at": sent.fired_at,
                    "sent_at": sent.sent_at,
                    "recipients": sent.recipients,
                    "note": sent.note,
                }
                for sent in page
            ]
            return ReminderOut(reminders, many=True).data

        return paginated(request, self, self.invoice.reminders.select_related("tier"), rows)


class KpiQuery(serializers.Serializer[Any]):
    start = serializers.DateField(required=False, help_text="The period's first day (default: 29 days before end).")
    end = serializers.DateField(required=False, help_text="The period's last day (default: today).")
    currency = serializers.CharField(
        required=False, allow_blank=True, max_length=3, help_text="ISO 4217 (default, or empty: the firm's)."
    )
    attorney = serializers.CharField(required=False, help_text="Only matters this staff member is responsible for.")
    matter_type = serializers.CharField(required=False, allow_blank=True, help_text="A matter type's code.")

    def validate_currency(self, value: str) -> str:
        if value and not known_currency(value):
            raise serializers.ValidationError("not an ISO 4217 currency")
        return value

    def validate_matter_type(self, value: str) -> str:
        if value and not MatterType.objects.filter(code=value).exists():
            raise serializers.ValidationError("no such matter type")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end") or timezone.localdate()
        start = attrs.get("start") or end - timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"start": "the period starts on or before its end"})
        return {**attrs, "start": start, "end": end}

    def scope(self, request: Request) -> KpiScope:
        self.is_valid(raise_exception=True)
        data = self.validated_data
        attorney = attorney_for_billing(request.user, data["attorney"]) if data.get("attorney") else None
        return KpiScope(
            start=data["start"],
            end=data["end"],
            currency=data.get("currency") or default_currency(),
            attorney=attorney,
            matter_type=data.get("matter_type", ""),
        )


class KpiRowsQuery(KpiQuery):
    kpi = serializers.ChoiceField(choices=list(KPIS), required=False, help_text="Only this KPI (default: every one).")


class KpiPartOut(serializers.Serializer[Any]):
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True)


class KpiOut(serializers.Serializer[Any]):
    key = serializers.ChoiceField(choices=list(KPIS))
    name = serializers.CharField()
    formula = serializers.CharField(help_text="The formula, in words.")
    unit = serializers.ChoiceField(choices=["percent", "days", "hours"])
    value = serializers.FloatField(allow_null=True, help_text="Null: nothing to measure in the period.")
    numerator = serializers.FloatField()
    denominator = serializers.FloatField()
    parts = KpiPartOut(many=True)


class KpiRowOut(serializers.Serializer[Any]):
    cells = serializers.DictField(help_text="The row's values, by column (amounts in minor units).")
    invoice_id = serializers.IntegerField(allow_null=True)
    matter_id = serializers.IntegerField(allow_null=True)
    client_id = serializers.IntegerField(allow_null=True)


class KpiWithRowsOut(KpiOut):
    columns = serializers.ListField(child=serializers.CharField())
    rows = KpiRowOut(many=True)


class KpisWithRowsOut(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    currency = serializers.CharField()
    kpis = KpiWithRowsOut(many=True)


class KpisOut(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    currency = serializers.CharField()
    kpis = KpiOut(many=True)


def _kpi_out(kpi: Kpi) -> dict[str, object]:
    return {
        "key": kpi.key,
        "name": kpi.name,
        "formula": kpi.formula,
        "unit": kpi.unit,
        "value": kpi.value,
        "numerator": kpi.numerator,
        "denominator": kpi.denominator,
        "parts": [{"name": name, "value": value} for name, value in kpi.parts],
    }


def _period(scope: KpiScope) -> dict[str, object]:
    return {"start": scope.start, "end": scope.end, "currency": scope.currency}


class Kpis(BillingStaffView):
    """Every KPI's value over the period (billing staff; the role is checked before the handler, as the aging's)."""

    @extend_schema(parameters=[KpiQuery], responses=KpisOut)
    def get(self, request: Request) -> Response:
        scope = KpiQuery(data=request.query_params.dict()).scope(request)
        return Response({**_period(scope), "kpis": [_kpi_out(kpi_compute(key, scope)) for key in KPIS]})


def _with_rows(kpi: Kpi) -> dict[str, object]:
    rows = [
        {"cells": row.cells, "invoice_id": row.invoice_id, "matter_id": row.matter_id, "client_id": row.client_id}
        for row in kpi.rows
    ]
    return {**_kpi_out(kpi), "columns": list(kpi.columns), "rows": rows}


class KpiRows(BillingStaffView):
    """The KPIs (or the one ``kpi`` names) with the rows behind each."""

    @extend_schema(parameters=[KpiRowsQuery], responses=KpisWithRowsOut)
    def get(self, request: Request) -> Response:
        query = KpiRowsQuery(data=request.query_params.dict())
        scope = query.scope(request)
        keys = [query.validated_data["kpi"]] if query.validated_data.get("kpi") else list(KPIS)
        return Response({**_period(scope), "kpis": [_with_rows(kpi_compute(key, scope)) for key in keys]})


app_name = "collections"
urlpatterns = [
    path("collections/aging", Aging.as_view(), name="aging"),
    path("collections/kpis", Kpis.as_view(), name="kpis"),
    path("collections/kpis/rows", KpiRows.as_view(), name="kpi_rows"),
    path("invoices/<int:invoice_id>/reminders", InvoiceReminders.as_view(), name="invoice_reminders"),
]
