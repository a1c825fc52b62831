"""API for invoices, payments and credit notes (under /api/v1/billing/, names ``api:billing:*``).

Objects are reached through ``billing.access`` before the handler
runs (``api.permissions.ObjectView``): "not yours" is 404 whatever the method. Lists show what the
accessor gives the caller: every invoice for billing staff, a client's own issued
invoices otherwise. Amounts are integer minor units with their currency.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.body import json_object
from api.idempotency import ApiView
from api.money_fields import MinorUnitsField, money_in
from api.pagination import CursorPage, filtered, paginated
from api.permissions import ObjectView, staff_user
from billing.access import (
    credit_note_for_user,
    credit_notes_for_user,
    invoice_for_user,
    invoices_for_user,
    matter_for_billing,
)
from billing.credit_notes import services as credit_notes
from billing.credit_notes.models import CreditNote
from billing.invoices import services as invoices
from billing.invoices.models import Invoice, InvoiceLine, Payment
from core.roles import APPROVE_ADJUSTMENT, ISSUE_INVOICE, MANAGE_INVOICES


class LineSerializer(serializers.ModelSerializer[InvoiceLine]):
    class Meta:
        model = InvoiceLine
        fields = ["id", "kind", "code", "description", "quantity", "minutes", "unit_minor", "amount_minor"]


class PaymentSerializer(serializers.ModelSerializer[Payment]):
    class Meta:
        model = Payment
        fields = ["id", "method", "amount_minor", "currency", "received_on", "reference"]


class CreditNoteSerializer(serializers.ModelSerializer[CreditNote]):
    number = serializers.CharField(source="display_number", read_only=True)
    matter = serializers.CharField(source="matter.reference", read_only=True)

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "number",
            "invoice",
            "matter",
            "reason",
            "memo",
            "amount_minor",
            "currency",
            "status",
            "to_client_credit_minor",
        ]


class InvoiceSerializer(serializers.ModelSerializer[Invoice]):
    number = serializers.CharField(source="display_number", read_only=True)
    matter = serializers.CharField(source="matter.reference", read_only=True)
    client = serializers.EmailField(source="client.email", read_only=True)
    balance_due_minor = serializers.IntegerField(read_only=True)
    lines = LineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "matter",
            "client",
            "status",
            "origin",
            "needs_review",
            "currency",
            "total_minor",
            "paid_minor",
            "credited_minor",
            "written_off_minor",
            "balance_due_minor",
            "issued_on",
            "due_on",
            "lines",
        ]


class PaymentIn(serializers.Serializer[Any]):
    method = serializers.ChoiceField(choices=sorted(invoices.MANUAL_METHODS))
    amount_minor = MinorUnitsField()
    received_on = serializers.DateField(required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class CreditNoteIn(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=CreditNote.Reason.values)
    amount_minor = MinorUnitsField()
    memo = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class InvoiceCreateIn(serializers.Serializer[Any]):
    matter_id = serializers.IntegerField(help_text="The matter to invoice (a draft is created).")


class DecisionIn(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=["approve", "reject"])


class InvoiceFilter(serializers.Serializer[Any]):
    """The filters of the invoice list (query parameters), each as the invoice shows it."""

    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False, help_text="Only in this state.")
    matter = serializers.CharField(required=False, max_length=64, help_text="Only this matter's (its reference).")


class InvoiceList(ApiView):
    scope_area = "billing"
    pagination_class = CursorPage

    @extend_schema(parameters=[InvoiceFilter], responses=InvoiceSerializer(many=True))
    def get(self, request: Request) -> Response:
        wanted = filtered(request, InvoiceFilter)
        lookups = {"status": "status", "matter": "matter__reference"}
        found = invoices_for_user(request.user).filter(**{lookups[name]: value for name, value in wanted.items()})
        found = found.select_related("matter", "client").prefetch_related("lines")
        return paginated(request, self, found, lambda rows: InvoiceSerializer(rows, many=True).data)

    @extend_schema(request=InvoiceCreateIn, responses={201: InvoiceSerializer})
    def post(self, request: Request) -> Response:
        user = staff_user(request, MANAGE_INVOICES)
        matter = matter_for_billing(user, json_object(request).get("matter_id"))
        invoice = invoices.invoice_create(matter=matter, by=user)
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


class OneInvoiceView(ObjectView):
    scope_area = "billing"
    invoice: Invoice

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.invoice = invoice_for_user(request.user, kwargs["invoice_id"])


class InvoiceDetail(OneInvoiceView):
    @extend_schema(responses=InvoiceSerializer)
    def get(self, request: Request, invoice_id: int) -> Response:
        return Response(InvoiceSerializer(self.invoice).data)


class InvoiceIssue(OneInvoiceView):
    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request: Request, invoice_id: int) -> Response:
        user = staff_user(request, ISSUE_INVOICE)
        issued = invoices.invoice_issue(invoice=self.invoice, by=user)
        issued.refresh_from_db()
        return Response(InvoiceSerializer(issued).data)


class InvoicePayments(OneInvoiceView):
    pagination_class = CursorPage

    @extend_schema(responses=PaymentSerializer(many=True))
    def get(self, request: Request, invoice_id: int) -> Response:
        return paginated(
            request, self, self.invoice.payments.all(), lambda rows: PaymentSerializer(rows, many=True).data
        )

    @extend_schema(request=PaymentIn, responses={201: PaymentSerializer})
    def post(self, request: Request, invoice_id: int) -> Response:
        user = staff_user(request, MANAGE_INVOICES)
        body = PaymentIn(data=request.data)
        body.is_valid(raise_exception=True)
        payment = invoices.payment_record(
            invoice=self.invoice,
            method=body.validated_data["method"],
            amount=money_in(body.validated_data["amount_minor"], self.invoice.currency),
            received_on=body.validated_data.get("received_on"),
            reference=body.validated_data["reference"],
            by=user,
        )
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class InvoiceCreditNotes(OneInvoiceView):
    pagination_class = CursorPage

    @extend_schema(responses=CreditNoteSerializer(many=True))
    def get(self, request: Request, invoice_id: int) -> Response:
        notes = credit_notes_for_user(request.user).filter(invoice=self.invoice).select_related("matter")
        return paginated(request, self, notes, lambda rows: CreditNoteSerializer(rows, many=True).data)

    @extend_schema(request=CreditNoteIn, responses={201: CreditNoteSerializer})
    def post(self, request: Request, invoice_id: int) -> Response:
        user = staff_user(request, MANAGE_INVOICES)
        body = CreditNoteIn(data=request.data)
        body.is_valid(raise_exception=True)
        note = credit_notes.credit_note_request(
            invoice=self.invoice,
            reason=body.validated_data["reason"],
            amount=money_in(body.validated_data["amount_minor"], self.invoice.currency),
            memo=body.validated_data["memo"],
            by=user,
        )
        return Response(CreditNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class CreditNoteList(ApiView):
    scope_area = "billing"
    pagination_class = CursorPage

    @extend_schema(responses=CreditNoteSerializer(many=True))
    def get(self, request: Request) -> Response:
        notes = credit_notes_for_user(request.user).select_related("matter")
        return paginated(request, self, notes, lambda rows: CreditNoteSerializer(rows, many=True).data)


class CreditNoteDecide(ObjectView):
    scope_area = "billing"
    note: CreditNote

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.note = credit_note_for_user(request.user, kwargs["credit_note_id"])

    @extend_schema(request=DecisionIn, responses=CreditNoteSerializer)
    def post(self, request: Request, credit_note_id: int) -> Response:
        user = staff_user(request, APPROVE_ADJUSTMENT)
        note = credit_notes.credit_note_decide(
            note=self.note, approve=json_object(request).get("decision") == "approve", by=user
        )
        return Response(CreditNoteSerializer(note).data)


app_name = "billing"
urlpatterns = [
    path("invoices", InvoiceList.as_view(), name="invoices"),
    path("invoices/<int:invoice_id>", InvoiceDetail.as_view(), name="invoice"),
    path("invoices/<int:invoice_id>/issue", InvoiceIssue.as_view(), name="invoice_issue"),
    path("invoices/<int:invoice_id>/payments", InvoicePayments.as_view(), name="invoice_payments"),
    path("invoices/<int:invoice_id>/credit-notes", InvoiceCreditNotes.as_view(), name="invoice_credit_notes"),
    path("credit-notes", CreditNoteList.as_view(), name="credit_notes"),
    path("credit-notes/<int:credit_note_id>/decide", CreditNoteDecide.as_view(), name="credit_note_decide"),
]
