"""API representations for case work: clients, checklist, documents, messages, intake (matters: api.serializers)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.checklist import ChecklistLine
from core.models import Document, MatterType, Message, User
from core.models.casework import ReasonCode


class ClientSerializer(serializers.ModelSerializer[User]):
    phone = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "preferred_language", "phone", "invited_at", "date_joined"]

    def get_phone(self, user: User) -> str:
        profile = getattr(user, "client_profile", None)
        return profile.phone if profile else ""


class DocumentFilter(serializers.Serializer[dict[str, object]]):
    """The filter of a matter's document list (a query parameter)."""

    status = serializers.ChoiceField(
        choices=Document.Status.choices, required=False, help_text="Only documents in this state."
    )


class DocumentSerializer(serializers.ModelSerializer[Document]):
    requirement = serializers.CharField(source="requirement.code", read_only=True, default=None, allow_null=True)
    uploaded_by = serializers.EmailField(source="uploaded_by.email", read_only=True)
    reviewed_by = serializers.EmailField(source="reviewed_by.email", read_only=True, default=None, allow_null=True)
    matter = serializers.IntegerField(source="matter_id", read_only=True)
    reason_text = serializers.CharField(read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "matter",
            "requirement",
            "slot",
            "version",
            "content_type",
            "size",
            "sha256",
            "document_type",
            "document_date",
            "signer",
            "page_count",
            "language",
            "uploaded_by",
            "uploaded_at",
            "status",
            "reason_code",
            "reason_text",
            "review_note",
            "reviewed_by",
            "reviewed_at",
        ]


class ChecklistLineSerializer(serializers.Serializer[ChecklistLine]):
    requirement_id = serializers.IntegerField(source="requirement.pk")
    code = serializers.CharField(source="requirement.code")
    slot = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # as api.errors.ErrorDetailSerializer.fields
    responsible = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]  # as api.errors.ErrorDetailSerializer.fields
    due_date = serializers.DateField()
    status = serializers.ChoiceField(choices=["missing", "received", "accepted", "rejected"])
    reason_code = serializers.CharField()
    reason_text = serializers.CharField()
    note = serializers.CharField()
    acceptable_types = serializers.ListField(child=serializers.CharField(), source="requirement.acceptable_types")
    max_size_mb = serializers.IntegerField(source="requirement.max_size_mb")
    history = DocumentSerializer(many=True)


class DocumentUploadSerializer(serializers.Serializer[dict[str, Any]]):
    requirement_id = serializers.IntegerField()
    slot = serializers.IntegerField(default=1, min_value=1)
    file = serializers.FileField()
    document_type = serializers.CharField(required=False, allow_blank=True, max_length=100)
    document_date = serializers.DateField(required=False, allow_null=True)
    signer = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ReviewSerializer(serializers.Serializer[dict[str, Any]]):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    reason_code = serializers.ChoiceField(choices=ReasonCode.values, required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class MessageSerializer(serializers.ModelSerializer[Message]):
    sender = serializers.EmailField(source="sender.email", read_only=True)

    class Meta:
        model = Message
        fields = ["id", "sender", "body", "created"]
        read_only_fields = ["id", "sender", "created"]


class IntakeQuestionSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # as api.errors.ErrorDetailSerializer.fields
    help = serializers.CharField()
    kind = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]  # as api.errors.ErrorDetailSerializer.fields
    choices = serializers.SerializerMethodField()

    def get_choices(self, question: Any) -> list[dict[str, str]]:
        return [{"value": value, "label": label} for value, label in question.choice_options()]


class IntakeAnswersSerializer(serializers.Serializer[dict[str, Any]]):
    answers = serializers.DictField(child=serializers.JSONField())


class StageSerializer(serializers.Serializer[dict[str, Any]]):
    stage = serializers.CharField(required=False, allow_blank=True, help_text="A stage code; empty for the next one.")


class _ClientPart(serializers.Serializer[dict[str, Any]]):
    firstName = serializers.CharField(allow_blank=True)  # the §9 field names
    lastName = serializers.CharField(allow_blank=True)
    email = serializers.EmailField()
    phone = serializers.CharField(allow_blank=True, required=False)
    preferredLanguage = serializers.ChoiceField(choices=["en", "es"])


class _MatterPart(serializers.Serializer[dict[str, Any]]):
    matterType = serializers.CharField()
    filingCategory = serializers.CharField(allow_blank=True, required=False)
    priority = serializers.CharField(allow_blank=True, required=False)
    assignedAttorneyId = serializers.IntegerField(allow_null=True, required=False)


class _DocumentMetadata(serializers.Serializer[dict[str, Any]]):
    pageCount = serializers.IntegerField(allow_null=True)
    language = serializers.CharField(allow_null=True)


class _DocumentPart(serializers.Serializer[dict[str, Any]]):
    documentId = serializers.CharField()
    type = serializers.CharField()
    uploadedBy = serializers.CharField()
    uploadTimestamp = serializers.DateTimeField()
    metadata = _DocumentMetadata()


class _PaymentPart(serializers.Serializer[dict[str, Any]]):
    paymentId = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    processorReference = serializers.CharField()
    timestamp = serializers.DateTimeField()


class IntakeInterchangeSerializer(serializers.Serializer[dict[str, Any]]):
    """SPEC §9's intake shape (import and export)."""

    intakeId = serializers.CharField(max_length=64)
    client = _ClientPart()
    matter = _MatterPart()
    documents = _DocumentPart(many=True, required=False)
    payments = _PaymentPart(many=True, required=False)


class MatterOpenSerializer(serializers.Serializer[dict[str, Any]]):
    email = serializers.EmailField()
    full_name = serializers.CharField(max_length=200)
    language = serializers.ChoiceField(choices=["en", "es"], default="en")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    matter_type = serializers.CharField(help_text="A matter type code, e.g. I-130.")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    responsible_attorney = serializers.EmailField(required=False, allow_null=True, default=None)
    assigned_paralegal = serializers.EmailField(required=False, allow_null=True, default=None)
    invite = serializers.BooleanField(default=True)


class MatterTypeSerializer(serializers.ModelSerializer[MatterType]):
    questions = serializers.SerializerMethodField()
    requirements = serializers.SerializerMethodField()
    stages = serializers.SerializerMethodField()

    class Meta:
        model = MatterType
        fields = ["id", "code", "name_en", "name_es", "active", "questions", "requirements", "stages"]

    def get_questions(self, kind: MatterType) -> list[dict[str, Any]]:
        keys = ["key", "position", "label_en", "label_es", "kind", "required", "choices", "condition"]
        return [{k: getattr(q, k) for k in keys} for q in kind.questions.all()]

    def get_requirements(self, kind: MatterType) -> list[dict[str, Any]]:
        keys = ["code", "position", "name_en", "name_es", "responsible", "required", "condition", "repeat_for"]
        keys += ["acceptable_types", "max_size_mb", "due_offset_days"]
        return [{k: getattr(r, k) for k in keys} for r in kind.requirements.all()]

    def get_stages(self, kind: MatterType) -> list[dict[str, Any]]:
        return [{"code": st.code, "name_en": st.name_en, "optional": st.optional} for st in kind.stages.all()]
