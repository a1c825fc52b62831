"""The OpenAPI schema of /api/v1/ (drf-spectacular), for the firm's staff."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView


class IsStaff(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.is_staff)


class SchemaView(SpectacularAPIView):
    permission_classes = [IsAuthenticated, IsStaff]
