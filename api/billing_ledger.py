"""API for the ledger and trust money (/api/v1/ledger/...): reads for billing staff, trust operations.

A matter's trust ledger is reached through ``billing.trust.selectors.matter_for_ledger``
before anything else, so "not yours" is 404 as everywhere. Trust requests named
in the body are reached through ``billing.access`` (404 for missing, malformed
and not reachable). Amounts are integer minor units (``amount_minor``, at most
a billion of the currency, never a float) with an ISO 4217 ``currency``; a
refused input answers 400 naming the field, and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.body import json_object
from api.errors import ErrorSerializer, refused_response
from api.idempotency import ApiView
from api.money_fields import CurrencyField, MinorUnitsField, money_in
from api.pagination import CursorPage, paginated
from api.permissions import staff_user
from billing.access import trust_request_for_user, trust_requests_for_user
from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalEntry
from billing.ledger.selectors import balances_by_account
from billing.trust import services
from billing.trust.models import TrustDeposit, TrustRequest, firm_currency
from billing.trust.requests import trust_request_approve, trust_request_create, trust_request_reject
from billing.trust.selectors import cleared_funds, client_ledger, matter_for_ledger
from core.models import Matter, User
from core.roles import APPROVE_TRUST, MANAGE_TRUST, VIEW_LEDGER


def _staff_with(request: Request, permission: str) -> User:
    return staff_user(request, permission)  # the API's one staff rule (api.permissions)


def _refused(exc: ValidationError) -> Response:
    return refused_response(exc)  # the API's one error shape (api.errors)


class LedgerView(ApiView):
    """Checks the role before DRF picks the handler, so a wrong method is 403 too, never a 405 hint."""

    scope_area = "billing"
    permission_needed = VIEW_LEDGER

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _staff_with(request, self.permission_needed)


class AccountSerializer(serializers.ModelSerializer[Account]):
    client = serializers.EmailField(source="client.email", read_only=True, default=None, allow_null=True)
    matter = serializers.CharField(source="matter.reference", read_only=True, default=None, allow_null=True)
    balance_minor = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "name", "kind", "currency", "client", "matter", "billing_code", "balance_minor"]

    def get_balance_minor(self, account: Account) -> int:
        found = self.context["balances"].get(account.pk)
        return found.minor if found is not None else 0


class EntrySerializer(serializers.ModelSerializer[JournalEntry]):
    lines = serializers.SerializerMethodField()

    class Meta:
        model = JournalEntry
        fields = ["id", "kind", "memo", "occurred_on", "posted_at", "source_type", "source_id", "reverses", "lines"]

    def get_lines(self, entry: JournalEntry) -> list[dict[str, Any]]:
        return [
            {
                "account": line.account.name,
                "debit_minor": line.debit_minor,
                "credit_minor": line.credit_minor,
                "currency": line.currency,
            }
            for line in entry.lines.all()
        ]


class _LedgerRowSerializer(serializers.Serializer[Any]):
    occurred_on = serializers.DateField()
    entry = serializers.IntegerField()
    kind = serializers.CharField()
    memo = serializers.CharField()
    deposit_minor = serializers.IntegerField()
    withdrawal_minor = serializers.IntegerField()
    balance_minor = serializers.IntegerField()


class MatterTrustSerializer(serializers.Serializer[Any]):
    matter = serializers.CharField()
    client = serializers.EmailField()
    currency = serializers.CharField()
    balance_minor = serializers.IntegerField()
    cleared_minor = serializers.IntegerField()
    ledger = _LedgerRowSerializer(many=True)


class DepositOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    entry = serializers.IntegerField(help_text="The journal entry that posted the deposit.")


class TrustRequestOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TrustRequest.Kind.choices)
    matter = serializers.CharField()
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    payee = serializers.CharField()
    status = serializers.CharField()
    approvals_required = serializers.IntegerField()
    approvals = serializers.ListField(child=serializers.EmailField())
    entry = serializers.IntegerField(allow_null=True)


class ApprovalIn(serializers.Serializer[Any]):
    request = serializers.IntegerField(help_text="The trust request to decide.")
    reject = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Why, when rejecting.")


class AccountList(LedgerView):
    pagination_class = CursorPage

    @extend_schema(responses=AccountSerializer(many=True))
    def get(self, request: Request) -> Response:
        accounts = Account.objects.select_related("client", "matter")
        context = {"balances": balances_by_account()}
        return paginated(request, self, accounts, lambda rows: AccountSerializer(rows, many=True, context=context).data)


class EntryList(LedgerView):
    """Entries, newest recorded first, a page at a time; ``?account=<id>`` for one account's."""

    pagination_class = CursorPage
    cursor_ordering = "-pk"

    @extend_schema(
        parameters=[OpenApiParameter("account", OpenApiTypes.INT, description="Only this account's entries.")],
        responses={
            200: EntrySerializer(many=True),
            404: OpenApiResponse(ErrorSerializer, description="No such account."),
        },
    )
    def get(self, request: Request) -> Response:
        entries = JournalEntry.objects.prefetch_related("lines__account")
        account = request.query_params.get("account", "")
        if account:
            if not account.isdigit():
                raise Http404("No such account.")
            entries = entries.filter(lines__account_id=int(account)).distinct()
        return paginated(request, self, entries, lambda rows: EntrySerializer(rows, many=True).data)


class MatterTrust(ApiView):
    """A matter's trust balance, cleared funds and client ledger."""

    scope_area = "trust"
    matter: Matter

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.matter = matter_for_ledger(request.user, kwargs["matter_id"])
        _staff_with(request, VIEW_LEDGER)

    @extend_schema(responses=MatterTrustSerializer)
    def get(self, request: Request, matter_id: int) -> Response:
        from django.utils import timezone

        account = account_for(Account.Kind.CLIENT_TRUST, matter=self.matter)
        rows = client_ledger(account=account)
        return Response(
            {
                "matter": self.matter.reference,
                "client": self.matter.client.email,
                "currency": account.currency,
                "balance_minor": rows[-1].balance.minor if rows else 0,
                "cleared_minor": cleared_funds(account=account, on=timezone.localdate()).minor,
                "ledger": [
                    {
                        "occurred_on": row.occurred_on,
                        "entry": row.entry_id,
                        "kind": row.kind,
                        "memo": row.memo,
                        "deposit_minor": row.deposit.minor,
                        "withdrawal_minor": row.withdrawal.minor,
                        "balance_minor": row.balance.minor,
                    }
                    for row in rows
                ],
            }
        )


class DepositSerializer(serializers.Serializer[Any]):
    matter = serializers.IntegerField()
    amount_minor = MinorUnitsField()
    currency = CurrencyField(required=False)
    method = serializers.ChoiceField(choices=TrustDeposit.Method.choices)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    received_on = serializers.DateField(required=False, default=None)
    cleared_on = serializers.DateField(required=False, default=None)


class RequestSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=TrustRequest.Kind.choices)
    matter = serializers.IntegerField()
    amount_minor = MinorUnitsField()
    payee = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    purpose = serializers.CharField(max_length=500)


def _matter(request: Request, matter_id: int) -> Matter:
    return matter_for_ledger(request.user, matter_id)


class TrustDeposits(LedgerView):
    scope_area = "trust"
    permission_needed = MANAGE_TRUST

    @extend_schema(request=DepositSerializer, responses={201: DepositOut})
    def post(self, request: Request) -> Response:
        user = _staff_with(request, MANAGE_TRUST)
        data = DepositSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        matter = _matter(request, data.validated_data["matter"])
        currency = data.validated_data.get("currency") or firm_currency()
        try:
            deposit = services.trust_deposit(
                client=matter.client,
                matter=matter,
                amount=money_in(data.validated_data["amount_minor"], currency),
                method=data.validated_data["method"],
                reference=data.validated_data["reference"],
                received_on=data.validated_data["received_on"],
                cleared_on=data.validated_data["cleared_on"],
                by=user,
            )
        except ValidationError as exc:
            return _refused(exc)
        return Response({"id": deposit.pk, "entry": deposit.entry_id}, status=status.HTTP_201_CREATED)


def _request_data(trust_request: TrustRequest) -> dict[str, Any]:
    return {
        "id": trust_request.pk,
        "kind": trust_request.kind,
        "matter": trust_request.matter.reference,
        "amount_minor": trust_request.amount_minor,
        "currency": trust_request.currency,
        "payee": trust_request.payee,
        "status": trust_request.status,
        "approvals_required": trust_request.approvals_required,
        "approvals": [approval.approver.email for approval in trust_request.approvals.all()],
        "entry": trust_request.entry_id,
    }


class TrustRequests(LedgerView):
    scope_area = "trust"

    pagination_class = CursorPage
    cursor_ordering = "-pk"

    @extend_schema(responses=TrustRequestOut(many=True))
    def get(self, request: Request) -> Response:
        requests = (
            trust_requests_for_user(request.user).select_related("matter").prefetch_related("approvals__approver")
        )
        return paginated(request, self, requests, lambda rows: [_request_data(item) for item in rows])

    @extend_schema(request=RequestSerializer, responses={201: TrustRequestOut})
    def post(self, request: Request) -> Response:
        user = _staff_with(request, MANAGE_TRUST)
        data = RequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        matter = _matter(request, data.validated_data["matter"])
        try:
            created = trust_request_create(
                kind=data.validated_data["kind"],
                matter=matter,
                amount=money_in(data.validated_data["amount_minor"], firm_currency()),
                payee=data.validated_data["payee"],
                purpose=data.validated_data["purpose"],
                by=user,
            )
        except ValidationError as exc:
            return _refused(exc)
        return Response(_request_data(created), status=status.HTTP_201_CREATED)


class TrustApprovals(LedgerView):
    """POST ``{"request": id}`` approves; ``{"request": id, "reject": true, "reason": ...}`` rejects."""

    scope_area = "trust"
    permission_needed = APPROVE_TRUST

    @extend_schema(request=ApprovalIn, responses=TrustRequestOut)
    def post(self, request: Request) -> Response:
        user = _staff_with(request, APPROVE_TRUST)
        body = json_object(request)
        trust_request = trust_request_for_user(user, body.get("request"))
        try:
            if body.get("reject"):
                decided = trust_request_reject(request=trust_request, by=user, reason=str(body.get("reason", "")))
            else:
                decided = trust_request_approve(request=trust_request, by=user)
        except ValidationError as exc:
            return _refused(exc)
        return Response(_request_data(decided))


app_name = "ledger"
urlpatterns = [
    path("accounts", AccountList.as_view(), name="accounts"),
    path("entries", EntryList.as_view(), name="entries"),
    path("matters/<int:matter_id>/trust", MatterTrust.as_view(), name="matter_trust"),
    path("trust/deposits", TrustDeposits.as_view(), name="trust_deposits"),
    path("trust/requests", TrustRequests.as_view(), name="trust_requests"),
    path("trust/approvals", TrustApprovals.as_view(), name="trust_approvals"),
]
