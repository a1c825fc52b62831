"""The OpenAPI schema of /api/v1/ (drf-spectacular), for the firm's staff (its schema class: ``api.openapi``)."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.permissions import StaffPermission
from api.scopes import ANY_SCOPE


class SchemaView(SpectacularAPIView):
    permission_classes = [IsAuthenticated, StaffPermission]
    scope_area = ANY_SCOPE

    def handle_exception(self, exc: Exception) -> Response:
        """Errors in the API's JSON shape (``api.errors``), not rendered as an OpenAPI document."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response
