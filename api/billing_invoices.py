"""API for invoices, payments and credit notes (under /api/v1/billing/, names ``api:billing:*``).

Objects are reached through ``billing.invoices.selectors`` before the handler
runs (``initial``): "not yours" is 404 whatever the method. Lists show what the
accessor gives the caller: every invoice for billing staff, a client's own issued
invoices otherwise. Amounts are integer minor units with their currency.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import path
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.money_fields import MinorUnitsField, money_in
from billing.credit_notes import services as credit_notes
from billing.credit_notes.models import CreditNote
from billing.invoices import services as invoices
from billing.invoices.models import Invoice, InvoiceLine, Payment
from billing.invoices.selectors import (
    ISSUE_INVOICE,
    MANAGE_INVOICES,
    credit_note_for_user,
    invoice_for_user,
    invoices_for_user,
    sees_all_billing,
)
from billing.invoices.write_offs import APPROVE_ADJUSTMENT
from core.access import matter_for_user
from core.models import Matter, User


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
    reference = serializers.CharField(max_length=100, required=False, default="")


class CreditNoteIn(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=CreditNote.Reason.values)
    amount_minor = MinorUnitsField()
    memo = serializers.CharField(max_length=500, required=False, default="")


def _staff_with(request: Request, permission: str) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_staff or not user.has_perm(permission):
        raise PermissionDenied("Your role does not allow this.")
    return user


def _refused(exc: ValidationError) -> APIValidationError:
    return APIValidationError({"detail": exc.messages})


class InvoiceList(APIView):
    def get(self, request: Request) -> Response:
        found = invoices_for_user(request.user).select_related("matter", "client").prefetch_related("lines")
        return Response(InvoiceSerializer(found[:500], many=True).data)

    def post(self, request: Request) -> Response:
        user = _staff_with(request, MANAGE_INVOICES)
        matter_id = request.data.get("matter_id", "")
        # Billing staff draft for any matter of the firm; anyone else only for a matter they reach.
        matter = (
            (Matter.objects.filter(pk=int(matter_id)).first() if str(matter_id).isdigit() else None)
            if sees_all_billing(user)
            else matter_for_user(user, matter_id)
        )
        if matter is None:
            raise APIValidationError({"matter_id": ["No such matter."]})
        invoice = invoices.invoice_create(matter=matter, by=user)
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


class OneInvoiceView(APIView):
    invoice: Invoice

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.invoice = invoice_for_user(request.user, kwargs["invoice_id"])


class InvoiceDetail(OneInvoiceView):
    def get(self, request: Request, invoice_id: int) -> Response:
        return Response(InvoiceSerializer(self.invoice).data)


class InvoiceIssue(OneInvoiceView):
    def post(self, request: Request, invoice_id: int) -> Response:
        user = _staff_with(request, ISSUE_INVOICE)
        try:
            issued = invoices.invoice_issue(invoice=self.invoice, by=user)
        except ValidationError as exc:
            raise _refused(exc) from None
        issued.refresh_from_db()
        return Response(InvoiceSerializer(issued).data)


class InvoicePayments(OneInvoiceView):
    def get(self, request: Request, invoice_id: int) -> Response:
        return Response(PaymentSerializer(self.invoice.payments.all(), many=True).data)

    def post(self, request: Request, invoice_id: int) -> Response:
        user = _staff_with(request, MANAGE_INVOICES)
        body = PaymentIn(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            payment = invoices.payment_record(
                invoice=self.invoice,
                method=body.validated_data["method"],
                amount=money_in(body.validated_data["amount_minor"], self.invoice.currency),
                received_on=body.validated_data.get("received_on"),
                reference=body.validated_data["reference"],
                by=user,
            )
        except ValidationError as exc:
            raise _refused(exc) from None
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class InvoiceCreditNotes(OneInvoiceView):
    def get(self, request: Request, invoice_id: int) -> Response:
        notes = self.invoice.credit_notes.select_related("matter")
        if not sees_all_billing(request.user):
            notes = notes.filter(status=CreditNote.Status.APPROVED)
        return Response(CreditNoteSerializer(notes, many=True).data)

    def post(self, request: Request, invoice_id: int) -> Response:
        user = _staff_with(request, MANAGE_INVOICES)
        body = CreditNoteIn(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            note = credit_notes.credit_note_request(
                invoice=self.invoice,
                reason=body.validated_data["reason"],
                amount=money_in(body.validated_data["amount_minor"], self.invoice.currency),
                memo=body.validated_data["memo"],
                by=user,
            )
        except ValidationError as exc:
            raise _refused(exc) from None
        return Response(CreditNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class CreditNoteList(APIView):
    def get(self, request: Request) -> Response:
        notes = CreditNote.objects.filter(invoice__in=invoices_for_user(request.user)).select_related("matter")
        if not sees_all_billing(request.user):
            notes = notes.filter(status=CreditNote.Status.APPROVED)
        return Response(CreditNoteSerializer(notes[:500], many=True).data)


class CreditNoteDecide(APIView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.note = credit_note_for_user(request.user, kwargs["credit_note_id"])

    def post(self, request: Request, credit_note_id: int) -> Response:
        user = _staff_with(request, APPROVE_ADJUSTMENT)
        try:
            note = credit_notes.credit_note_decide(
                note=self.note, approve=request.data.get("decision") == "approve", by=user
            )
        except ValidationError as exc:
            raise _refused(exc) from None
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
