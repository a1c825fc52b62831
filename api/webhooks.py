"""API for outgoing webhooks (/api/v1/webhooks/...): endpoints, their delivery log, secret rotation, replay.

A firm admin's only, as on the staff pages (``core.webhooks.endpoints``): any
other user, and any token not acting as a firm admin, gets 404. A token needs
the ``webhooks:manage`` scope for every method. ``DELETE`` on an endpoint turns
it off (its delivery log stays, and it answers with the endpoint, now off);
``PATCH`` with ``active`` turns it back on.
A signing secret is in the answer only when it is made (creation, rotation).
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
from core.models import WebhookDelivery, WebhookEndpoint
from core.webhooks import (
    EVENT_TYPES,
    delivery_for_admin,
    delivery_log_for_admin,
    delivery_replay,
    endpoint_create,
    endpoint_disable,
    endpoint_for_admin,
    endpoint_secret_rotate,
    endpoint_update,
    endpoints_for_admin,
    request_body,
)

AREA = "webhooks"
# In the schema too (an address of another form is refused by core.webhooks all the same).
URL_PATTERN = r"^[hH][tT][tT][pP][sS]?://\S+$"
URL_REFUSED = "Give the endpoint's full address (https or http)."


class EndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "disabled_reason", "previous_secret_until", "created"]


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret (Standard Webhooks), shown only in this answer.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class EndpointInputSerializer(serializers.Serializer[Any]):
    url = serializers.RegexField(URL_PATTERN, max_length=500, error_messages={"invalid": URL_REFUSED})
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), default=list, help_text="Empty for every event."
    )


class EndpointChangeSerializer(serializers.Serializer[Any]):
    url = serializers.RegexField(URL_PATTERN, max_length=500, required=False, error_messages={"invalid": URL_REFUSED})
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), required=False)
    active = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    event_id = serializers.CharField(source="event.event_id", help_text="The webhook-id header.")
    type = serializers.CharField(source="event.type")
    request_body = serializers.SerializerMethodField(help_text="The exact JSON body sent and signed.")
    replay_of = serializers.IntegerField(source="replay_of_id", allow_null=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "type",
            "status",
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "last_status_code",
            "last_latency_ms",
            "last_response",
            "delivered_at",
            "replay_of",
            "request_body",
        ]

    def get_request_body(self, delivery: WebhookDelivery) -> str:
        return request_body(delivery.event)


class EndpointList(ApiView):
    scope_area = AREA

    pagination_class = CursorPage

    @extend_schema(responses=EndpointSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = endpoints_for_admin(request.user)
        return paginated(request, self, found, lambda rows: EndpointSerializer(rows, many=True).data)

    @extend_schema(request=EndpointInputSerializer, responses={201: EndpointWithSecretSerializer})
    def post(self, request: Request) -> Response:
        endpoints_for_admin(request.user)  # 404 before the body is looked at
        body = EndpointInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = endpoint_create(
            url=body.validated_data["url"], events=body.validated_data["events"], by=signed_in_user(request)
        )
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class OneEndpointView(ObjectView):
    endpoint: WebhookEndpoint
    scope_area = AREA

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.endpoint = endpoint_for_admin(request.user, kwargs["endpoint_id"])


class EndpointDetail(OneEndpointView):
    @extend_schema(responses=EndpointSerializer)
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(EndpointSerializer(self.endpoint).data)

    @extend_schema(request=EndpointChangeSerializer, responses=EndpointSerializer)
    def patch(self, request: Request, endpoint_id: int) -> Response:
        body = EndpointChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, given = self.endpoint, body.validated_data
        endpoint_update(
            endpoint=endpoint,
            url=given.get("url", endpoint.url),
            events=given.get("events", endpoint.events),
            active=given.get("active", endpoint.active),
            by=signed_in_user(request),
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={200: EndpointSerializer})
    def delete(self, request: Request, endpoint_id: int) -> Response:
        """Turn the endpoint off (its delivery log stays); the answer is the endpoint, now off."""
        endpoint_disable(endpoint=self.endpoint, by=signed_in_user(request))
        return Response(EndpointSerializer(self.endpoint).data)


class EndpointRotate(OneEndpointView):
    @extend_schema(request=None, responses=EndpointWithSecretSerializer)
    def post(self, request: Request, endpoint_id: int) -> Response:
        secret = endpoint_secret_rotate(endpoint=self.endpoint, by=signed_in_user(request))
        self.endpoint.refresh_from_db()
        return Response({**EndpointSerializer(self.endpoint).data, "secret": secret})


class DeliveryList(OneEndpointView):
    pagination_class = CursorPage
    cursor_ordering = "-pk"  # newest first

    @extend_schema(responses=DeliverySerializer(many=True))
    def get(self, request: Request, endpoint_id: int) -> Response:
        found = delivery_log_for_admin(request.user, endpoint=self.endpoint)
        return paginated(request, self, found, lambda rows: DeliverySerializer(rows, many=True).data)


class DeliveryReplay(OneEndpointView):
    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, endpoint_id: int, delivery_id: int) -> Response:
        delivery = delivery_for_admin(request.user, self.endpoint, delivery_id)
        replay = delivery_replay(delivery=delivery, by=signed_in_user(request))
        return Response(DeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("endpoints", EndpointList.as_view(), name="webhook_endpoints"),
    path("endpoints/<int:endpoint_id>", EndpointDetail.as_view(), name="webhook_endpoint"),
    path("endpoints/<int:endpoint_id>/rotate", EndpointRotate.as_view(), name="webhook_endpoint_rotate"),
    path("endpoints/<int:endpoint_id>/deliveries", DeliveryList.as_view(), name="webhook_deliveries"),
    path(
        "endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/replay",
        DeliveryReplay.as_view(),
        name="webhook_delivery_replay",
    ),
]
