"""API for case work (/api/v1/...): clients, checklist, intake, documents, messages, stages, intake interchange.

Objects are reached through their accessors before anything else
(``matter_for_user`` in ``OneMatterView``, ``document_for_user``,
``client_for_user``; ``api.permissions.ObjectView``): "not yours" is 404 whatever
the method. Service errors (Django ``ValidationError``) become 400 in the one
error shape (``api.errors``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from api import casework_serializers as s
from api.body import json_object
from api.errors import ErrorSerializer
from api.idempotency import ApiView
from api.pagination import CursorPage, filtered, paginated
from api.permissions import ObjectView, StaffPermission, signed_in_user, staff_user
from api.serializers import MatterSerializer
from api.views import OneMatterView
from core.access import (
    Action,
    client_for_user,
    clients_for_user,
    document_for_user,
    documents_for_user,
    is_party_to,
    person_by_email,
)
from core.checklist import checklist_for, requirement_for_matter
from core.document_upload import UploadRejected, document_upload
from core.documents import document_open, document_review, documents_for_review
from core.intake import intake_is_complete, intake_questions_for, intake_save_answers
from core.interchange import intake_export, intake_import
from core.matters import client_matter_open, matter_type_by_code
from core.messages import message_send, messages_for
from core.models import Document, MatterType, User, WorkflowStage
from core.stages import matter_advance_stage


class ClientList(ApiView):
    scope_area = "matters"
    permission_classes = [IsAuthenticated, StaffPermission]

    pagination_class = CursorPage

    @extend_schema(responses=s.ClientSerializer(many=True))
    def get(self, request: Request) -> Response:
        return paginated(
            request, self, clients_for_user(request.user), lambda rows: s.ClientSerializer(rows, many=True).data
        )


class ClientDetail(ObjectView):
    scope_area = "matters"
    client: User

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.client = client_for_user(request.user, kwargs["client_id"])

    @extend_schema(responses=s.ClientSerializer)
    def get(self, request: Request, client_id: int) -> Response:
        return Response(s.ClientSerializer(self.client).data)


class MatterOpen(ApiView):
    """Open a matter for a new or existing client (and invite them), as the staff page does."""

    scope_area = "matters"
    permission_classes = [IsAuthenticated, StaffPermission]

    @extend_schema(request=s.MatterOpenSerializer, responses={201: MatterSerializer})
    def post(self, request: Request) -> Response:
        body = s.MatterOpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        def staff(email: str | None, field: str) -> User | None:
            if not email:
                return None
            found = person_by_email(email, staff_only=True)
            if found is None:
                raise ValidationError({field: ["No staff member of the firm has this email."]})
            return found

        matter = client_matter_open(
            email=data["email"],
            full_name=data["full_name"],
            language=data["language"],
            phone=data["phone"],
            matter_type=matter_type_by_code(data["matter_type"]),
            title=data["title"],
            responsible_attorney=staff(data["responsible_attorney"], "responsible_attorney"),
            assigned_paralegal=staff(data["assigned_paralegal"], "assigned_paralegal"),
            invite=data["invite"],
            by=signed_in_user(request),
        )
        return Response(MatterSerializer(matter).data, status=status.HTTP_201_CREATED)


class ReviewQueue(ApiView):
    """Documents received and waiting for a decision on matters the user may change, oldest first."""

    scope_area = "documents"
    permission_classes = [IsAuthenticated, StaffPermission]

    pagination_class = CursorPage

    @extend_schema(responses=s.DocumentSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = documents_for_review(request.user).select_related("reviewed_by")
        return paginated(request, self, found, lambda rows: s.DocumentSerializer(rows, many=True).data)


class MatterTypeList(ApiView):
    """The firm's matter types with their questions, requirements and stages (edited in the staff workspace)."""

    scope_area = "matters"
    permission_classes = [IsAuthenticated, StaffPermission]

    pagination_class = CursorPage

    @extend_schema(responses=s.MatterTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        kinds = MatterType.objects.prefetch_related("questions", "requirements", "stages")
        return paginated(request, self, kinds, lambda rows: s.MatterTypeSerializer(rows, many=True).data)


class MatterCase(OneMatterView):
    @extend_schema(responses=MatterSerializer)
    def get(self, request: Request, matter_id: int) -> Response:
        return Response(MatterSerializer(self.matter).data)


class MatterChecklist(OneMatterView):
    @extend_schema(responses=s.ChecklistLineSerializer(many=True))
    def get(self, request: Request, matter_id: int) -> Response:
        lines = checklist_for(self.matter)  # drf-stubs type a plain Serializer's instance without many=True's list
        return Response(s.ChecklistLineSerializer(lines, many=True).data)  # type: ignore[arg-type]


class IntakeState(serializers.Serializer[Any]):
    complete = serializers.BooleanField()
    answers = serializers.DictField()
    questions = s.IntakeQuestionSerializer(many=True)


class MatterIntake(OneMatterView):
    def _state(self) -> dict[str, Any]:
        return {
            "complete": intake_is_complete(self.matter),
            "answers": self.matter.intake_answers,
            "questions": s.IntakeQuestionSerializer(intake_questions_for(self.matter), many=True).data,
        }

    @extend_schema(responses=IntakeState)
    def get(self, request: Request, matter_id: int) -> Response:
        return Response(self._state())

    @extend_schema(request=s.IntakeAnswersSerializer, responses={200: IntakeState, 400: ErrorSerializer})
    def post(self, request: Request, matter_id: int) -> Response:
        """Saves the valid answers (partial progress is kept); any invalid one is a 400 naming its question."""
        body = s.IntakeAnswersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = intake_save_answers(
            matter=self.matter,
            answers=body.validated_data["answers"],
            by=signed_in_user(request),
        )
        if result.errors:
            raise ValidationError({f"answers.{key}": [message] for key, message in result.errors.items()})
        return Response(self._state())


class MatterDocuments(OneMatterView):
    scope_area = "documents"
    parser_classes = [MultiPartParser]  # a file: a form without one (urlencoded) cannot carry it

    pagination_class = CursorPage

    @extend_schema(parameters=[s.DocumentFilter], responses=s.DocumentSerializer(many=True))
    def get(self, request: Request, matter_id: int) -> Response:
        found = (
            documents_for_user(request.user)
            .filter(matter=self.matter, **filtered(request, s.DocumentFilter))
            .select_related("requirement", "uploaded_by", "reviewed_by")
        )
        return paginated(request, self, found, lambda rows: s.DocumentSerializer(rows, many=True).data)

    @extend_schema(request=s.DocumentUploadSerializer, responses={201: s.DocumentSerializer, 400: ErrorSerializer})
    def post(self, request: Request, matter_id: int) -> Response:
        body = s.DocumentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        requirement = requirement_for_matter(self.matter, data["requirement_id"])
        try:
            document = document_upload(
                matter=self.matter,
                requirement=requirement,
                slot=data["slot"],
                uploaded_by=signed_in_user(request),
                file=data["file"],
                metadata={key: data.get(key) for key in ("document_type", "document_date", "signer")},
            )
        except UploadRejected as refused:
            raise ValidationError({"file": [refused.message]}) from None
        return Response(s.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class OneDocumentView(ObjectView):
    scope_area = "documents"
    document: Document
    action_needed: Action = "view"

    def reach(self, request: Request, **kwargs: Any) -> None:
        self.document = document_for_user(request.user, kwargs["document_id"], action=self.action_needed)


class DocumentDetail(OneDocumentView):
    @extend_schema(responses=s.DocumentSerializer)
    def get(self, request: Request, document_id: int) -> Response:
        return Response(s.DocumentSerializer(self.document).data)


class DocumentDownload(OneDocumentView):
    @extend_schema(
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file, in its own media type")}
    )
    def get(self, request: Request, document_id: int) -> FileResponse:
        return document_open(document=self.document, user=signed_in_user(request))


class DocumentReview(OneDocumentView):
    action_needed: Action = "change"

    @extend_schema(request=s.ReviewSerializer, responses=s.DocumentSerializer)
    def post(self, request: Request, document_id: int) -> Response:
        body = s.ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        document = document_review(
            document=self.document,
            by=signed_in_user(request),
            decision=data["decision"],
            reason_code=data.get("reason_code"),
            note=data.get("note", ""),
        )
        return Response(s.DocumentSerializer(document).data)


class MatterMessages(OneMatterView):
    """The client-firm thread: for the matter's parties only (outside counsel read the matter, not this)."""

    parser_classes = [JSONParser, FormParser]

    def reach(self, request: Request, **kwargs: Any) -> None:
        super().reach(request, **kwargs)
        if not is_party_to(request.user, self.matter):
            raise PermissionDenied("The messages are between the client and the firm.")

    pagination_class = CursorPage

    @extend_schema(responses=s.MessageSerializer(many=True))
    def get(self, request: Request, matter_id: int) -> Response:
        return paginated(
            request, self, messages_for(self.matter), lambda rows: s.MessageSerializer(rows, many=True).data
        )

    @extend_schema(request=s.MessageSerializer, responses={201: s.MessageSerializer})
    def post(self, request: Request, matter_id: int) -> Response:
        body = s.MessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = message_send(
            matter=self.matter,
            sender=signed_in_user(request),
            body=body.validated_data["body"],
        )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class MatterStage(OneMatterView):
    @extend_schema(request=s.StageSerializer, responses=MatterSerializer)
    def post(self, request: Request, matter_id: int) -> Response:
        body = s.StageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        code = body.validated_data.get("stage")
        target = None
        if code:
            target = WorkflowStage.objects.filter(matter_type_id=self.matter.matter_type_id, code=code).first()
            if target is None:
                raise ValidationError({"stage": ["No such stage for this matter type."]})
        matter = matter_advance_stage(matter=self.matter, by=signed_in_user(request), to=target)
        return Response(MatterSerializer(matter).data)


class MatterIntakeExport(OneMatterView):
    @extend_schema(responses=s.IntakeInterchangeSerializer)
    def get(self, request: Request, matter_id: int) -> Response:
        staff_user(request)
        return Response(intake_export(self.matter))


class IntakeImport(ApiView):
    scope_area = "matters"
    permission_classes = [IsAuthenticated, StaffPermission]
    parser_classes = [JSONParser]

    @extend_schema(request=s.IntakeInterchangeSerializer, responses={201: s.IntakeInterchangeSerializer})
    def post(self, request: Request) -> Response:
        body = s.IntakeInterchangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = intake_import(payload=dict(json_object(request)), by=signed_in_user(request))
        exported = intake_export(result.matter)
        headers = {"X-Documents-Skipped": str(result.documents_skipped)}
        return Response(exported, status=status.HTTP_201_CREATED, headers=headers)


urlpatterns = [
    path("matters/open", MatterOpen.as_view(), name="matter_open"),
    path("clients", ClientList.as_view(), name="clients"),
    path("review-queue", ReviewQueue.as_view(), name="review_queue"),
    path("matter-types", MatterTypeList.as_view(), name="matter_types"),
    path("clients/<int:client_id>", ClientDetail.as_view(), name="client"),
    path("matters/<int:matter_id>/case", MatterCase.as_view(), name="matter_case"),
    path("matters/<int:matter_id>/checklist", MatterChecklist.as_view(), name="matter_checklist"),
    path("matters/<int:matter_id>/intake", MatterIntake.as_view(), name="matter_intake"),
    path("matters/<int:matter_id>/intake-export", MatterIntakeExport.as_view(), name="matter_intake_export"),
    path("matters/<int:matter_id>/documents", MatterDocuments.as_view(), name="matter_documents"),
    path("matters/<int:matter_id>/messages", MatterMessages.as_view(), name="matter_messages"),
    path("matters/<int:matter_id>/stage", MatterStage.as_view(), name="matter_stage"),
    path("documents/<int:document_id>", DocumentDetail.as_view(), name="document"),
    path("documents/<int:document_id>/download", DocumentDownload.as_view(), name="document_download"),
    path("documents/<int:document_id>/review", DocumentReview.as_view(), name="document_review"),
    path("intake/import", IntakeImport.as_view(), name="intake_import"),
]
