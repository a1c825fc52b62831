"""API views. Everything here runs inside the requesting firm's schema.

Views on one matter reach it through ``core.access.matter_for_user`` before
their permission classes and before DRF picks the handler
(``api.permissions.ObjectView``): "not yours" is 404 whatever the method,
exactly as in the web UI. Errors come out in one shape (``api.errors``).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import ApiView
from api.pagination import CursorPage, filtered, paginated
from api.permissions import ObjectView, StaffPermission, signed_in_user
from api.scopes import ANY_SCOPE
from api.serializers import (
    AccessReviewSerializer,
    GrantCreateSerializer,
    GrantExpirySerializer,
    GrantSerializer,
    MatterFilter,
    MatterSerializer,
    MeSerializer,
)
from core import grants
from core.access import grant_for_matter, matter_for_user, matters_for_user, person_by_email
from core.access_review import access_review
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Grant, Matter
from core.roles import MANAGE_GRANTS, VIEW_ACCESS_REVIEW

MATTER_RELATIONS = ("client", "responsible_attorney", "assigned_paralegal", "matter_type", "stage")


class Me(ApiView):
    """Who the caller is: the signed-in person, or the staff member a token acts as."""

    scope_area = ANY_SCOPE

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        return Response(
            {
                "email": user.email,
                "full_name": user.full_name,
                "firm": request.tenant.slug,  # type: ignore[attr-defined]
                "roles": sorted(user.groups.values_list("name", flat=True)),
            }
        )


class MatterList(ApiView):
    """The matters the caller may see, oldest first, a page at a time; filtered by stage, type or client."""

    scope_area = "matters"
    pagination_class = CursorPage

    @extend_schema(parameters=[MatterFilter], responses=MatterSerializer(many=True))
    def get(self, request: Request) -> Response:
        wanted = filtered(request, MatterFilter)
        matters = matters_for_user(request.user).select_related(*MATTER_RELATIONS)
        lookups = {"stage": "stage__code", "matter_type": "matter_type__code", "client": "client__email__iexact"}
        matters = matters.filter(**{lookups[name]: value for name, value in wanted.items()})
        return paginated(request, self, matters, lambda rows: MatterSerializer(rows, many=True).data)


class OneMatterView(ObjectView):
    """Base for views under /matters/<matter_id>/: the matter is reached before anything else."""

    matter: Matter
    scope_area = "matters"

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.matter = matter_for_user(request.user, kwargs["matter_id"])


class MatterDetail(OneMatterView):
    @extend_schema(responses=MatterSerializer)
    def get(self, request: Request, matter_id: int) -> Response:
        return Response(MatterSerializer(self.matter).data)


class ManagedMatterView(OneMatterView):
    """A matter's grants: for firm admins and partners, after the matter itself is reached."""

    permission_classes = [IsAuthenticated, StaffPermission]
    required_permission = MANAGE_GRANTS
    scope_area = "access"


class MatterGrants(ManagedMatterView):
    pagination_class = CursorPage
    cursor_ordering = "-pk"  # newest first

    @extend_schema(responses=GrantSerializer(many=True))
    def get(self, request: Request, matter_id: int) -> Response:
        found = self.matter.grants.select_related("grantee", "granted_by", "matter")
        return paginated(request, self, found, lambda rows: GrantSerializer(rows, many=True).data)

    @extend_schema(request=GrantCreateSerializer, responses={201: GrantSerializer})
    def post(self, request: Request, matter_id: int) -> Response:
        body = GrantCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grantee = person_by_email(body.validated_data["grantee"])
        if grantee is None:
            raise ValidationError({"grantee": ["No user with this email in the firm."]})
        grant = grants.grant_create(
            matter=self.matter,
            grantee=grantee,
            expires_at=body.validated_data["expires_at"],
            reason=body.validated_data["reason"],
            by=signed_in_user(request),
        )
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class OneGrantView(ManagedMatterView):
    grant: Grant

    def reach(self, request: Request, **kwargs: Any) -> None:
        super().reach(request, **kwargs)
        self.grant = grant_for_matter(self.matter, kwargs["grant_id"])


class GrantExpiry(OneGrantView):
    @extend_schema(request=GrantExpirySerializer, responses=GrantSerializer)
    def post(self, request: Request, matter_id: int, grant_id: int) -> Response:
        body = GrantExpirySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = grants.grant_change_expiry(
            grant=self.grant,
            expires_at=body.validated_data["expires_at"],
            by=signed_in_user(request),
        )
        return Response(GrantSerializer(grant).data)


class GrantRevoke(OneGrantView):
    @extend_schema(request=None, responses=GrantSerializer)
    def post(self, request: Request, matter_id: int, grant_id: int) -> Response:
        grant = grants.grant_revoke(grant=self.grant, by=signed_in_user(request))
        return Response(GrantSerializer(grant).data)


class AccessReview(ApiView):
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permission = VIEW_ACCESS_REVIEW
    scope_area = "access"

    @extend_schema(responses=AccessReviewSerializer)
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        as_of = timezone.now()
        rows = access_review(at=as_of)
        audit_record(
            AuditAction.ACCESS_REVIEW_EXPORTED,
            actor=user,
            data={"format": "json", "users": len(rows), "as_of": as_of.isoformat()},
        )
        return Response(
            {
                "as_of": as_of,
                "users": [
                    {
                        "email": row.user.email,
                        "name": row.user.full_name,
                        "roles": [role.value for role in row.roles],
                        "active": row.user.is_active,
                        "two_factor": row.two_factor,
                        "last_login": row.user.last_login,
                        "matters": [
                            {
                                "reference": access.matter.reference,
                                "access_via": [str(reason) for reason in access.reasons],
                                "grant_expires_at": access.grant_expires_at,
                            }
                            for access in row.matters
                        ],
                    }
                    for row in rows
                ],
            }
        )
