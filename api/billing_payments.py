"""API for online payments (under /api/v1/billing/, names ``api:payments:*``): payments, payment links, refunds,
the approvals of trust refunds, retainer requests; payment plans are ``api.billing_plans``.

Objects are reached through ``billing.access`` first ("not yours" is 404 whatever
the method): a client sees their own payments and retainer requests, billing staff
every one. Refunds and retainer requests are billing staff's; a refund of a retainer
(money in trust) is a request that two approvers decide here or under
``/api/v1/ledger/trust/approvals`` (the same rules), and only the second approval
calls Stripe. A payment link is the Portico page where the client pays (for staff to
send, or for the client's own app). Amounts are integer minor units with their currency.
"""

from __future__ import annotations

from typing import Any

from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from api.billing_plans import urlpatterns as plan_urlpatterns
from api.body import json_object
from api.errors import StripeUnavailable
from api.idempotency import ApiView
from api.money_fields import MinorUnitsField, money_in
from api.pagination import CursorPage, filtered, paginated
from api.permissions import ObjectView, StaffPermission, staff_user
from billing.access import (
    invoice_for_user,
    matter_for_billing,
    online_payment_for_user,
    online_payments_for_user,
    retainer_request_for_user,
    retainer_requests_for_user,
    trust_card_refund_for_user,
    trust_card_refunds_for_user,
)
from billing.ledger.accounts import default_currency
from billing.ledger.models import JournalEntry
from billing.stripe.gateway import GatewayError
from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest, TrustCardRefund
from billing.stripe.selectors import payment_entries, payment_events
from billing.stripe.services import PAYABLE_ONLINE, payment_refund, retainer_request_create
from billing.stripe.trust_refunds import trust_card_refund_request
from billing.trust.requests import trust_request_approve, trust_request_reject
from core.roles import APPROVE_TRUST, MANAGE_INVOICES, MANAGE_TRUST, VIEW_BILLING, VIEW_LEDGER

# Where the client pays, by what is paid. Today's client pages start the card payment on POST; when paying moves
# to Stripe Checkout these name its pages instead, and the link answers those.
PAY_PAGES = {"invoice": "invoicing:client_invoice_pay", "retainer": "invoicing:client_retainer_pay"}


# --- Representations ---------------------------------------------------------------------------------------------


class OnlinePaymentSerializer(serializers.ModelSerializer[OnlinePayment]):
    client = serializers.EmailField(source="client.email", read_only=True)
    matter = serializers.CharField(source="matter.reference", read_only=True)
    invoice = serializers.CharField(source="invoice.display_number", read_only=True, allow_null=True, default=None)
    retainer = serializers.IntegerField(source="retainer_id", read_only=True, allow_null=True)
    stripe_account = serializers.CharField(source="account.stripe_account_id", read_only=True, allow_null=True)

    class Meta:
        model = OnlinePayment
        fields = [
            "id",
            "purpose",
            "status",
            "client",
            "matter",
            "invoice",
            "retainer",
            "account_kind",
            "stripe_account",
            "payment_intent_id",
            "amount_minor",
            "refunded_minor",
            "refund_asked_minor",
            "disputed_minor",
            "currency",
            "created",
        ]


class EntryLineSerializer(serializers.Serializer[Any]):
    account = serializers.CharField(source="account.name")
    debit_minor = serializers.IntegerField()
    credit_minor = serializers.IntegerField()
    currency = serializers.CharField()


class EntrySerializer(serializers.ModelSerializer[JournalEntry]):
    lines = EntryLineSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = ["id", "kind", "memo", "occurred_on", "lines"]


class EventSerializer(serializers.Serializer[Any]):
    event_id = serializers.CharField()
    type = serializers.CharField()
    account_id = serializers.CharField()
    received = serializers.DateTimeField()


class OnlinePaymentDetailSerializer(OnlinePaymentSerializer):
    entries = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()

    class Meta(OnlinePaymentSerializer.Meta):
        fields = [*OnlinePaymentSerializer.Meta.fields, "entries", "events"]

    @extend_schema(responses=EntrySerializer(many=True))
    def get_entries(self, payment: OnlinePayment) -> Any:
        return EntrySerializer(payment_entries(payment), many=True).data

    @extend_schema(responses=EventSerializer(many=True))
    def get_events(self, payment: OnlinePayment) -> Any:
        return EventSerializer(payment_events(payment), many=True).data


class TrustRefundSerializer(serializers.ModelSerializer[TrustCardRefund]):
    request = serializers.IntegerField(source="request_id", read_only=True)
    payment = serializers.IntegerField(source="payment_id", read_only=True)
    matter = serializers.CharField(source="payment.matter.reference", read_only=True)
    requested_by = serializers.EmailField(source="request.requested_by.email", read_only=True)
    approvals_required = serializers.IntegerField(source="request.approvals_required", read_only=True)
    approvals = serializers.SerializerMethodField()

    class Meta:
        model = TrustCardRefund
        fields = [
            "request",
            "payment",
            "matter",
            "amount_minor",
            "currency",
            "status",
            "requested_by",
            "approvals_required",
            "approvals",
            "stripe_refund_id",
            "last_error",
        ]

    def get_approvals(self, refund: TrustCardRefund) -> list[str]:
        return [approval.approver.email for approval in refund.request.approvals.all()]


class RefundOut(serializers.Serializer[Any]):
    """An invoice payment's refund (asked of Stripe at once) or a retainer's (a request for two approvers)."""

    payment = serializers.IntegerField()
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    # An invoice payment's refund is "asked" at once; a retainer's starts "awaiting" its approvers.
    status = serializers.ChoiceField(choices=TrustCardRefund.Status.choices)
    stripe_refund_id = serializers.CharField(allow_null=True)
    trust_request = serializers.IntegerField(allow_null=True, help_text="The two-approver request, for a retainer.")


class RetainerSerializer(serializers.ModelSerializer[RetainerRequest]):
    client = serializers.EmailField(source="client.email", read_only=True)
    matter = serializers.CharField(source="matter.reference", read_only=True)

    class Meta:
        model = RetainerRequest
        fields = ["id", "client", "matter", "amount_minor", "currency", "purpose", "status", "created"]


class PaymentLinkOut(serializers.Serializer[Any]):
    url = serializers.URLField(help_text="The Portico page where the client pays (signed in as that client).")
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()


# --- Bodies and filters ------------------------------------------------------------------------------------------


class PaymentFilter(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=OnlinePayment.Status.choices, required=False, help_text="Only in this state."
    )
    account = serializers.ChoiceField(
        choices=ConnectedAccount.Kind.choices, required=False, help_text="Only those charged on this account."
    )
    client = serializers.EmailField(required=False, help_text="Only this client's (their email).")


class PaymentLinkIn(serializers.Serializer[Any]):
    invoice = serializers.IntegerField(required=False, help_text="An open invoice to pay.")
    retainer = serializers.IntegerField(required=False, help_text="An open retainer request to pay.")


class RefundIn(serializers.Serializer[Any]):
    payment = serializers.IntegerField(help_text="The online payment to refund.")
    amount_minor = MinorUnitsField()
    reason = serializers.CharField(max_length=500, required=False, default="")


class TrustRefundDecisionIn(serializers.Serializer[Any]):
    request = serializers.IntegerField(help_text="The trust refund request to decide.")
    reject = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(max_length=500, required=False, default="")


class RetainerFilter(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=RetainerRequest.Status.choices, required=False)
    matter = serializers.CharField(required=False, max_length=64, help_text="Only this matter's (its reference).")


class RetainerIn(serializers.Serializer[Any]):
    matter_id = serializers.IntegerField(help_text="The matter whose client is asked for the retainer.")
    amount_minor = MinorUnitsField()
    purpose = serializers.CharField(max_length=300)


def _payments(queryset: Any) -> Any:
    return queryset.select_related("client", "matter", "invoice", "account")


# --- Views -------------------------------------------------------------------------------------------------------


class PaymentList(ApiView):
    """Online payments, oldest first: every one for billing staff, a client's own otherwise."""

    scope_area = "billing"
    pagination_class = CursorPage

    @extend_schema(parameters=[PaymentFilter], responses=OnlinePaymentSerializer(many=True))
    def get(self, request: Request) -> Response:
        wanted = filtered(request, PaymentFilter)
        lookups = {"status": "status", "account": "account_kind", "client": "client__email__iexact"}
        found = online_payments_for_user(request.user).filter(**{lookups[k]: v for k, v in wanted.items()})
        return paginated(request, self, _payments(found), lambda rows: OnlinePaymentSerializer(rows, many=True).data)


class PaymentDetail(ObjectView):
    """One payment with its ledger entries and the Stripe events applied to it (billing staff)."""

    scope_area = "billing"
    payment: OnlinePayment

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.payment = online_payment_for_user(request.user, kwargs["payment_id"])

    @extend_schema(responses=OnlinePaymentDetailSerializer)
    def get(self, request: Request, payment_id: int) -> Response:
        staff_user(request, VIEW_BILLING)
        return Response(OnlinePaymentDetailSerializer(self.payment).data)


class PaymentLinks(ApiView):
    """POST ``{"invoice": id}`` or ``{"retainer": id}``: the Portico page where the client pays it."""

    scope_area = "billing"

    @extend_schema(request=PaymentLinkIn, responses={200: PaymentLinkOut})
    def post(self, request: Request) -> Response:
        body = json_object(request)
        if ("invoice" in body) == ("retainer" in body):
            raise ValidationError({"invoice": ["Name either an invoice or a retainer request."]})
        if "invoice" in body:
            invoice = invoice_for_user(request.user, body["invoice"])
            if invoice.status not in PAYABLE_ONLINE or invoice.balance_due_minor <= 0:
                raise ValidationError({"invoice": ["This invoice has nothing left to pay."]})
            where, amount = reverse(PAY_PAGES["invoice"], args=[invoice.pk]), invoice.balance_due
        else:
            retainer = retainer_request_for_user(request.user, body["retainer"])
            if retainer.status != RetainerRequest.Status.OPEN:
                raise ValidationError({"retainer": ["This retainer is already paid."]})
            where, amount = reverse(PAY_PAGES["retainer"], args=[retainer.pk]), retainer.amount
        return Response(
            {"url": request.build_absolute_uri(where), "amount_minor": amount.minor, "currency": amount.currency}
        )


class Refunds(ApiView):
    """POST a refund: of an invoice payment, asked of Stripe at once; of a retainer, a request for two approvers."""

    scope_area = "billing"
    permission_classes = [IsAuthenticated, StaffPermission]

    @extend_schema(request=RefundIn, responses={201: RefundOut})
    def post(self, request: Request) -> Response:
        staff_user(request)
        body = RefundIn(data=json_object(request))
        body.is_valid(raise_exception=True)
        payment = online_payment_for_user(request.user, body.validated_data["payment"])
        amount = money_in(body.validated_data["amount_minor"], payment.currency)
        if payment.purpose == OnlinePayment.Purpose.RETAINER:
            user = staff_user(request, MANAGE_TRUST)
            refund = trust_card_refund_request(
                payment=payment, amount=amount, reason=body.validated_data["reason"], by=user
            )
            answer = {"status": refund.status, "stripe_refund_id": None, "trust_request": refund.request_id}
        else:
            user = staff_user(request, MANAGE_INVOICES)
            try:
                refund_id = payment_refund(payment=payment, amount=amount, by=user)
            except GatewayError as exc:
                raise StripeUnavailable(str(exc)) from exc
            answer = {"status": "asked", "stripe_refund_id": refund_id, "trust_request": None}
        data = {"payment": payment.pk, "amount_minor": amount.minor, "currency": amount.currency, **answer}
        return Response(RefundOut(data).data, status=status.HTTP_201_CREATED)


class TrustRefunds(ApiView):
    """Card refunds of retainers in trust, newest first, with their approvals (those who read the ledger)."""

    scope_area = "trust"
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permission = VIEW_LEDGER
    pagination_class = CursorPage
    cursor_ordering = "-pk"

    @extend_schema(responses=TrustRefundSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = trust_card_refunds_for_user(request.user).select_related("payment__matter", "request__requested_by")
        found = found.prefetch_related("request__approvals__approver")
        return paginated(request, self, found, lambda rows: TrustRefundSerializer(rows, many=True).data)


class TrustRefundApprovals(ApiView):
    """POST ``{"request": id}`` approves (the second approval asks Stripe); with ``"reject": true`` rejects."""

    scope_area = "trust"
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permission = APPROVE_TRUST

    @extend_schema(request=TrustRefundDecisionIn, responses={200: TrustRefundSerializer})
    def post(self, request: Request) -> Response:
        user = staff_user(request, APPROVE_TRUST)
        raw = json_object(request)
        refund = trust_card_refund_for_user(user, raw.get("request"))
        body = TrustRefundDecisionIn(data=raw)
        body.is_valid(raise_exception=True)
        if body.validated_data["reject"]:
            trust_request_reject(request=refund.request, by=user, reason=body.validated_data["reason"])
        else:
            trust_request_approve(request=refund.request, by=user)
        return Response(TrustRefundSerializer(trust_card_refund_for_user(user, refund.request_id)).data)


class RetainerRequests(ApiView):
    """Retainer requests, oldest first (every one for billing staff, a client's own otherwise); POST asks for one."""

    scope_area = "billing"
    pagination_class = CursorPage

    @extend_schema(parameters=[RetainerFilter], responses=RetainerSerializer(many=True))
    def get(self, request: Request) -> Response:
        wanted = filtered(request, RetainerFilter)
        lookups = {"status": "status", "matter": "matter__reference"}
        found = retainer_requests_for_user(request.user).filter(**{lookups[k]: v for k, v in wanted.items()})
        found = found.select_related("client", "matter")
        return paginated(request, self, found, lambda rows: RetainerSerializer(rows, many=True).data)

    @extend_schema(request=RetainerIn, responses={201: RetainerSerializer})
    def post(self, request: Request) -> Response:
        user = staff_user(request, MANAGE_INVOICES)
        raw = json_object(request)
        matter = matter_for_billing(user, raw.get("matter_id"))
        body = RetainerIn(data=raw)
        body.is_valid(raise_exception=True)
        retainer = retainer_request_create(
            matter=matter,
            amount=money_in(body.validated_data["amount_minor"], default_currency()),
            purpose=body.validated_data["purpose"],
            by=user,
        )
        return Response(RetainerSerializer(retainer).data, status=status.HTTP_201_CREATED)


app_name = "payments"
urlpatterns = [
    path("payments", PaymentList.as_view(), name="online_payments"),
    path("payments/<int:payment_id>", PaymentDetail.as_view(), name="online_payment"),
    path("payment-links", PaymentLinks.as_view(), name="payment_links"),
    path("refunds", Refunds.as_view(), name="refunds"),
    path("trust-refunds", TrustRefunds.as_view(), name="trust_refunds"),
    path("trust-refunds/approvals", TrustRefundApprovals.as_view(), name="trust_refund_approvals"),
    path("retainer-requests", RetainerRequests.as_view(), name="retainer_requests"),
    *plan_urlpatterns,
]
