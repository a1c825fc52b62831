"""API for case work (/api/v1/...): clients, checklist, intake, documents, messages, stages, intake interchange.

Objects are reached through their accessors before anything else
(``matter_for_user`` in ``OneMatterView.initial``, ``document_for_user``,
``client_for_user``): "not yours" is 404 whatever the method. Service errors
(Django ``ValidationError``) become 400 with the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import casework_serializers as s
from api.schema import IsStaff
from api.views import OneMatterView
from core.access import client_for_user, clients_for_user, document_for_user, documents_for_user, person_by_email
from core.checklist import checklist_for, requirement_for_matter
from core.documents import document_open, document_review, document_submit, documents_for_review
from core.intake import intake_is_complete, intake_questions_for, intake_save_answers
from core.interchange import intake_export, intake_import
from core.matters import client_matter_open, matter_type_by_code
from core.messages import message_send, messages_for
from core.models import Document, MatterType, User, WorkflowStage
from core.stages import matter_advance_stage

T = TypeVar("T")


def service(call: Callable[[], T]) -> T:
    """Run a service; its ValidationError becomes a 400 with its messages."""
    try:
        return call()
    except DjangoValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
        raise ValidationError(detail) from None


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _staff(request: Request) -> User:
    user = _user(request)
    if not user.is_staff:
        raise PermissionDenied("For the firm's staff.")
    return user


class ClientList(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(responses=s.ClientSerializer(many=True))
    def get(self, request: Request) -> Response:
        user = _staff(request)
        return Response(s.ClientSerializer(clients_for_user(user), many=True).data)


class ClientDetail(APIView):
    client: User

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.client = client_for_user(_user(request), kwargs["client_id"])

    @extend_schema(responses=s.ClientSerializer)
    def get(self, request: Request, client_id: int) -> Response:
        return Response(s.ClientSerializer(self.client).data)


class MatterOpen(APIView):
    """Open a matter for a new or existing client (and invite them), as the staff page does."""

    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(request=s.MatterOpenSerializer, responses={201: s.CaseMatterSerializer})
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

        matter = service(
            lambda: client_matter_open(
                email=data["email"],
                full_name=data["full_name"],
                language=data["language"],
                phone=data["phone"],
                matter_type=matter_type_by_code(data["matter_type"]),
                title=data["title"],
                responsible_attorney=staff(data["responsible_attorney"], "responsible_attorney"),
                assigned_paralegal=staff(data["assigned_paralegal"], "assigned_paralegal"),
                invite=data["invite"],
                by=_user(request),
                request=request._request,
            )
        )
        return Response(s.CaseMatterSerializer(matter).data, status=status.HTTP_201_CREATED)


class ReviewQueue(APIView):
    """Documents received and waiting for a decision on matters the user may change, oldest first."""

    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(responses=s.DocumentSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = documents_for_review(_user(request)).select_related("reviewed_by")[:200]
        return Response(s.DocumentSerializer(found, many=True).data)


class MatterTypeList(APIView):
    """The firm's matter types with their questions, requirements and stages (edited in the staff workspace)."""

    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(responses=s.MatterTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        kinds = MatterType.objects.prefetch_related("questions", "requirements", "stages").order_by("code")
        return Response(s.MatterTypeSerializer(kinds, many=True).data)


class MatterCase(OneMatterView):
    @extend_schema(responses=s.CaseMatterSerializer)
    def get(self, request: Request, matter_id: int) -> Response:
        return Response(s.CaseMatterSerializer(self.matter).data)


class MatterChecklist(OneMatterView):
    @extend_schema(responses=s.ChecklistLineSerializer(many=True))
    def get(self, request: Request, matter_id: int) -> Response:
        return Response(s.ChecklistLineSerializer(checklist_for(self.matter), many=True).data)


class IntakeState(serializers.Serializer[Any]):
    complete = serializers.BooleanField()
    answers = serializers.DictField()
    questions = s.IntakeQuestionSerializer(many=True)
    errors = serializers.DictField(child=serializers.CharField(), required=False)


class MatterIntake(OneMatterView):
    def _state(self, errors: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "complete": intake_is_complete(self.matter),
            "answers": self.matter.intake_answers,
            "questions": s.IntakeQuestionSerializer(intake_questions_for(self.matter), many=True).data,
            "errors": errors or {},
        }

    @extend_schema(responses=IntakeState)
    def get(self, request: Request, matter_id: int) -> Response:
        return Response(self._state())

    @extend_schema(request=s.IntakeAnswersSerializer, responses={200: IntakeState, 400: IntakeState})
    def post(self, request: Request, matter_id: int) -> Response:
        body = s.IntakeAnswersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = intake_save_answers(
            matter=self.matter, answers=body.validated_data["answers"], by=_user(request), request=request._request
        )
        return Response(self._state(result.errors), status=400 if result.errors else 200)


class MatterDocuments(OneMatterView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=s.DocumentSerializer(many=True))
    def get(self, request: Request, matter_id: int) -> Response:
        found = (
            documents_for_user(request.user)
            .filter(matter=self.matter)
            .select_related("requirement", "uploaded_by", "reviewed_by")
        )
        return Response(s.DocumentSerializer(found.order_by("pk"), many=True).data)

    @extend_schema(request=s.DocumentUploadSerializer, responses={201: s.DocumentSerializer})
    def post(self, request: Request, matter_id: int) -> Response:
        from core.uploads import UploadRejected, validate_upload

        user = _user(request)
        body = s.DocumentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        requirement = requirement_for_matter(self.matter, data["requirement_id"])
        try:
            safe = validate_upload(data["file"], requirement=requirement, language=user.preferred_language)
        except UploadRejected as refused:
            raise ValidationError({"file": [refused.message]}) from None
        document = service(
            lambda: document_submit(
                matter=self.matter,
                requirement=requirement,
                uploaded_by=user,
                content=safe.as_file(),
                filename=safe.original_name,
                content_type=safe.content_type,
                metadata={
                    "document_type": data.get("document_type", ""),
                    "document_date": data.get("document_date"),
                    "signer": data.get("signer", ""),
                    "page_count": safe.page_count if safe.kind == "pdf" else None,
                },
                slot=data["slot"],
                request=request._request,
            )
        )
        return Response(s.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class OneDocumentView(APIView):
    document: Document
    action_needed = "view"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.document = document_for_user(request.user, kwargs["document_id"], action=self.action_needed)  # type: ignore[arg-type]


class DocumentDetail(OneDocumentView):
    @extend_schema(responses=s.DocumentSerializer)
    def get(self, request: Request, document_id: int) -> Response:
        return Response(s.DocumentSerializer(self.document).data)


class DocumentDownload(OneDocumentView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(description="The file, as an attachment")}
    )
    def get(self, request: Request, document_id: int) -> FileResponse:
        return document_open(document=self.document, user=_user(request), request=request._request)


class DocumentReview(OneDocumentView):
    action_needed = "change"

    @extend_schema(request=s.ReviewSerializer, responses=s.DocumentSerializer)
    def post(self, request: Request, document_id: int) -> Response:
        body = s.ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        document = service(
            lambda: document_review(
                document=self.document,
                by=_user(request),
                decision=data["decision"],
                reason_code=data.get("reason_code"),
                note=data.get("note", ""),
                request=request._request,
            )
        )
        return Response(s.DocumentSerializer(document).data)


class MatterMessages(OneMatterView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(responses=s.MessageSerializer(many=True))
    def get(self, request: Request, matter_id: int) -> Response:
        return Response(s.MessageSerializer(messages_for(self.matter), many=True).data)

    @extend_schema(request=s.MessageSerializer, responses={201: s.MessageSerializer})
    def post(self, request: Request, matter_id: int) -> Response:
        body = s.MessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = service(
            lambda: message_send(
                matter=self.matter, sender=_user(request), body=body.validated_data["body"], request=request._request
            )
        )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class MatterStage(OneMatterView):
    @extend_schema(request=s.StageSerializer, responses=s.CaseMatterSerializer)
    def post(self, request: Request, matter_id: int) -> Response:
        body = s.StageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        code = body.validated_data.get("stage")
        target = None
        if code:
            target = WorkflowStage.objects.filter(matter_type_id=self.matter.matter_type_id, code=code).first()
            if target is None:
                raise ValidationError({"stage": ["No such stage for this matter type."]})
        matter = service(
            lambda: matter_advance_stage(matter=self.matter, by=_user(request), to=target, request=request._request)
        )
        return Response(s.CaseMatterSerializer(matter).data)


class MatterIntakeExport(OneMatterView):
    @extend_schema(responses=s.IntakeInterchangeSerializer)
    def get(self, request: Request, matter_id: int) -> Response:
        _staff(request)
        return Response(intake_export(self.matter))


class IntakeImport(APIView):
    permission_classes = [IsAuthenticated, IsStaff]
    parser_classes = [JSONParser]

    @extend_schema(request=s.IntakeInterchangeSerializer, responses={201: s.IntakeInterchangeSerializer})
    def post(self, request: Request) -> Response:
        user = _staff(request)
        body = s.IntakeInterchangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = service(lambda: intake_import(payload=request.data, by=user, request=request._request))
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
