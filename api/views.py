"""API views. Everything here runs inside the requesting firm's schema."""

from __future__ import annotations

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response


@api_view(["GET"])
def me(request: Request) -> Response:
    user = request.user
    return Response(
        {
            "email": user.email,
            "full_name": user.full_name,
            "firm": request.tenant.slug,  # type: ignore[attr-defined]
            "roles": sorted(user.groups.values_list("name", flat=True)),
        }
    )
