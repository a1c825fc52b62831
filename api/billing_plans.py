"""API for payment plans (under /api/v1/billing/, names ``api:payments:*``): list, detail with installments,
offer, start (the client's card set-up) and cancel.

Plans are reached through ``billing.access`` first ("not yours" is 404 whatever the
method): billing staff see every plan, a client their own. Billing staff offer a plan
on an open invoice and cancel one; only the plan's client starts it: the answer is
what Stripe.js needs to save the card for off-session charges on the firm's operating
account (the SetupIntent's client secret, the connected account, the publishable key),
or the plan itself once the card is already saved. POSTs take an ``Idempotency-Key``
like every API POST (``api.idempotency``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from api.body import json_object
from api.errors import StripeUnavailable
from api.idempotency import ApiView
from api.pagination import CursorPage, filtered, paginated
from api.permissions import ObjectView, signed_in_user, staff_user
from billing.access import invoice_for_user, payment_plan_for_user, payment_plans_for_user
from billing.stripe.gateway import GatewayError
from billing.stripe.models import PaymentPlan, PlanInstallment
from billing.stripe.plans import plan_accept, plan_cancel, plan_offer, plan_setup_refresh
from core.roles import MANAGE_INVOICES

# --- Representations ---------------------------------------------------------------------------------------------


class InstallmentSerializer(serializers.ModelSerializer[PlanInstallment]):
    payment = serializers.IntegerField(source="payment_id", read_only=True, allow_null=True)

    class Meta:
        model = PlanInstallment
        fields = [
            "number",
            "due_on",
            "amount_minor",
            "currency",
            "status",
            "attempts",
            "next_attempt_on",
            "last_error",
            "payment",
            "payment_intent_id",
            "charged_at",
        ]


class PlanSerializer(serializers.ModelSerializer[PaymentPlan]):
    invoice = serializers.CharField(source="invoice.display_number", read_only=True)
    invoice_id = serializers.IntegerField(read_only=True)
    client = serializers.EmailField(source="client.email", read_only=True)
    matter = serializers.CharField(source="matter.reference", read_only=True)

    class Meta:
        model = PaymentPlan
        fields = [
            "id",
            "status",
            "invoice",
            "invoice_id",
            "client",
            "matter",
            "total_minor",
            "currency",
            "installment_count",
            "interval",
            "first_due_on",
            "created",
            "accepted_at",
            "ended_at",
            "end_reason",
        ]


class PlanDetailSerializer(PlanSerializer):
    installments = InstallmentSerializer(many=True, read_only=True)

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "installments"]


class PlanStartOut(serializers.Serializer[Any]):
    """What the client's app needs to save the card with Stripe.js (``stripe.confirmCardSetup``)."""

    plan = PlanDetailSerializer()
    setup_intent = serializers.CharField(allow_blank=True, help_text="Empty once the card is saved (plan active).")
    client_secret = serializers.CharField(allow_blank=True, help_text="The SetupIntent's secret, for Stripe.js.")
    stripe_account = serializers.CharField(help_text="The firm's operating account: Stripe.js's stripeAccount.")
    publishable_key = serializers.CharField(allow_blank=True)


# --- Bodies and filters ------------------------------------------------------------------------------------------


class PlanFilter(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=PaymentPlan.Status.choices, required=False, help_text="Only in this state."
    )


class PlanIn(serializers.Serializer[Any]):
    invoice = serializers.IntegerField(help_text="The issued invoice whose balance due is paid in installments.")
    installments = serializers.IntegerField(min_value=2, max_value=24)
    interval = serializers.ChoiceField(choices=PaymentPlan.Interval.choices)
    first_due_on = serializers.DateField(help_text="The first installment's date (today or later).")


class PlanCancelIn(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


def _plans(queryset: Any) -> Any:
    return queryset.select_related("invoice", "client", "matter")


def _detail(plan: PaymentPlan) -> Any:
    return PlanDetailSerializer(plan).data


# --- Views -------------------------------------------------------------------------------------------------------


class Plans(ApiView):
    """Payment plans, oldest first (every one for billing staff, a client's own); POST offers one on an invoice."""

    scope_area = "billing"
    pagination_class = CursorPage

    @extend_schema(parameters=[PlanFilter], responses=PlanSerializer(many=True))
    def get(self, request: Request) -> Response:
        wanted = filtered(request, PlanFilter)
        found = payment_plans_for_user(request.user).filter(**wanted)
        return paginated(request, self, _plans(found), lambda rows: PlanSerializer(rows, many=True).data)

    @extend_schema(request=PlanIn, responses={201: PlanDetailSerializer})
    def post(self, request: Request) -> Response:
        raw = json_object(request)
        invoice = invoice_for_user(request.user, raw.get("invoice"))
        user = staff_user(request, MANAGE_INVOICES)
        body = PlanIn(data=raw)
        body.is_valid(raise_exception=True)
        plan = plan_offer(
            invoice=invoice,
            installments=body.validated_data["installments"],
            interval=body.validated_data["interval"],
            first_due_on=body.validated_data["first_due_on"],
            by=user,
        )
        return Response(_detail(payment_plan_for_user(user, plan.pk)), status=status.HTTP_201_CREATED)


class PlanView(ObjectView):
    scope_area = "billing"
    plan: PaymentPlan

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.plan = payment_plan_for_user(request.user, kwargs["plan_id"])


class PlanDetail(PlanView):
    """One plan with its installments: state, attempts, the last decline, the PaymentIntent."""

    @extend_schema(responses=PlanDetailSerializer)
    def get(self, request: Request, plan_id: int) -> Response:
        return Response(_detail(self.plan))


class PlanStart(PlanView):
    """POST (the plan's client): accept the plan; answers the SetupIntent Stripe.js confirms with the card.

    The SetupIntent's client secret is for the client's browser only: a replayed POST (same
    ``Idempotency-Key``) answers it empty, as it is never stored; a new POST answers it again.
    """

    idempotency_redacts = ("client_secret",)

    @extend_schema(request=None, responses={200: PlanStartOut})
    def post(self, request: Request, plan_id: int) -> Response:
        user = signed_in_user(request)
        if self.plan.client_id != user.pk:
            raise PermissionDenied("Only the plan's client starts it, by saving a card.")
        try:
            setup = plan_accept(plan=self.plan, by=user)
            if self.plan.status == PaymentPlan.Status.PROPOSED:
                plan_setup_refresh(plan=self.plan)
        except GatewayError as exc:
            raise StripeUnavailable(str(exc)) from exc
        active = self.plan.status == PaymentPlan.Status.ACTIVE
        account = self.plan.account
        answer = {
            "plan": _detail(payment_plan_for_user(user, self.plan.pk)),
            "setup_intent": "" if active else setup.setup_intent_id,
            "client_secret": "" if active else setup.client_secret,
            "stripe_account": account.stripe_account_id if account else "",
            "publishable_key": settings.PORTICO_STRIPE_PUBLISHABLE_KEY,
        }
        return Response(PlanStartOut(answer).data)


class PlanCancel(PlanView):
    """POST (billing staff): stop the plan; nothing more is charged (one charge in flight finishes)."""

    @extend_schema(request=PlanCancelIn, responses={200: PlanDetailSerializer})
    def post(self, request: Request, plan_id: int) -> Response:
        user = staff_user(request, MANAGE_INVOICES)
        body = PlanCancelIn(data=json_object(request))
        body.is_valid(raise_exception=True)
        plan_cancel(
            plan=self.plan, by=user, reason=body.validated_data["reason"].strip() or "cancelled through the API"
        )
        return Response(_detail(payment_plan_for_user(user, self.plan.pk)))


urlpatterns = [
    path("plans", Plans.as_view(), name="payment_plans"),
    path("plans/<int:plan_id>", PlanDetail.as_view(), name="payment_plan"),
    path("plans/<int:plan_id>/start", PlanStart.as_view(), name="payment_plan_start"),
    path("plans/<int:plan_id>/cancel", PlanCancel.as_view(), name="payment_plan_cancel"),
]
