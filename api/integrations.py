"""API for the firm's integrations (/api/v1/integrations...): register one (secret in that answer only), list, revoke.

A firm admin's only, as on the staff page (``core.integrations``): anyone else
gets 404. Signed-in sessions only (``SESSION_ONLY``): no token, whatever its
scopes, registers or revokes a client, so a leaked token cannot make itself a
lasting credential. An integration then gets its tokens from
``/api/v1/oauth/token/`` (``api.oauth``).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import ApiView
from api.pagination import CursorPage, paginated
from api.permissions import ObjectView, signed_in_user
from api.scopes import SESSION_ONLY
from core.api_tokens import LABEL_MAX, all_scopes
from core.integrations import (
    integration_for_admin,
    integration_register,
    integration_revoke,
    integrations_for_admin,
    integrations_last_used,
)
from core.models import Integration


class IntegrationSerializer(serializers.ModelSerializer[Integration]):
    name = serializers.CharField(source="application.name")
    client_id = serializers.CharField(source="application.client_id", help_text="Sent with the secret for a token.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=list(all_scopes())))
    acts_as = serializers.EmailField(
        source="application.user.email", help_text="The firm admin who registered it: its tokens act as them."
    )
    last_used = serializers.SerializerMethodField(help_text="When one of its tokens was last used; null if never.")

    class Meta:
        model = Integration
        fields = ["id", "name", "client_id", "scopes", "acts_as", "created", "last_used"]

    def get_last_used(self, integration: Integration) -> str | None:
        used = self.context.get("last_used", {}).get(integration.pk)
        return serializers.DateTimeField().to_representation(used) if used else None


class RegisteredSerializer(IntegrationSerializer):
    client_secret = serializers.CharField(help_text="Shown only in this answer; Portico keeps only its hash.")

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "client_secret"]


class RegisterSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=LABEL_MAX)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=list(all_scopes())), allow_empty=False)


def _shown(integration: Integration) -> dict[str, Any]:
    data: dict[str, Any] = IntegrationSerializer(
        integration, context={"last_used": integrations_last_used([integration])}
    ).data
    return data


class IntegrationList(ApiView):
    scope_area = SESSION_ONLY
    pagination_class = CursorPage
    idempotency_redacts = ("client_secret",)  # shown once: a retry with the same key gets it empty

    @extend_schema(responses=IntegrationSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = integrations_for_admin(request.user)

        def serialize(rows: Any) -> Any:
            return IntegrationSerializer(rows, many=True, context={"last_used": integrations_last_used(rows)}).data

        return paginated(request, self, found, serialize)

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredSerializer})
    def post(self, request: Request) -> Response:
        integrations_for_admin(request.user)  # 404 before the body is looked at
        body = RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        registered = integration_register(
            name=body.validated_data["name"], scopes=body.validated_data["scopes"], by=signed_in_user(request)
        )
        shown = {**_shown(registered.integration), "client_secret": registered.client_secret}
        return Response(shown, status=status.HTTP_201_CREATED)


class OneIntegrationView(ObjectView):
    integration: Integration
    scope_area = SESSION_ONLY

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.integration = integration_for_admin(request.user, kwargs["integration_id"])


class IntegrationDetail(OneIntegrationView):
    @extend_schema(responses=IntegrationSerializer)
    def get(self, request: Request, integration_id: int) -> Response:
        return Response(_shown(self.integration))


class IntegrationRevoke(OneIntegrationView):
    @extend_schema(request=None, responses={200: IntegrationSerializer})
    def post(self, request: Request, integration_id: int) -> Response:
        """Revoke the integration: it gets no more tokens, and its tokens answer 401 from the next request.

        The answer is the integration as it was; it is then gone from the list (the audit log keeps it)."""
        shown = _shown(self.integration)
        integration_revoke(integration=self.integration, by=signed_in_user(request))
        return Response(shown)


urlpatterns = [
    path("integrations", IntegrationList.as_view(), name="integrations"),
    path("integrations/<int:integration_id>", IntegrationDetail.as_view(), name="integration"),
    path("integrations/<int:integration_id>/revoke", IntegrationRevoke.as_view(), name="integration_revoke"),
]
