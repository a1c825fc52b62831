"""API representations of the caller, matters, grants and the access review."""

from __future__ import annotations

from rest_framework import serializers

from core.models import Grant, Matter


class MatterSerializer(serializers.ModelSerializer[Matter]):
    """The one representation of a matter: lists, detail, case work, opening and advancing it."""

    client = serializers.EmailField(source="client.email", read_only=True)
    matter_type = serializers.CharField(source="matter_type.code", read_only=True, default=None, allow_null=True)
    stage = serializers.CharField(source="stage.code", read_only=True, default=None, allow_null=True)
    responsible_attorney = serializers.EmailField(
        source="responsible_attorney.email", read_only=True, default=None, allow_null=True
    )
    assigned_paralegal = serializers.EmailField(
        source="assigned_paralegal.email", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Matter
        fields = [
            "id",
            "reference",
            "title",
            "matter_type",
            "stage",
            "status",
            "client",
            "responsible_attorney",
            "assigned_paralegal",
            "filing_category",
            "priority",
            "intake_answers",
            "intake_started_at",
            "intake_completed_at",
            "documents_completed_at",
            "complete_on_first_submission",
            "created",
            "updated",
        ]


class MatterFilter(serializers.Serializer[dict[str, object]]):
    """The filters of the matter list (query parameters), each as the matter shows it."""

    stage = serializers.CharField(required=False, max_length=64, help_text="Only matters at this stage (its code).")
    matter_type = serializers.CharField(required=False, max_length=64, help_text="Only matters of this type (code).")
    client = serializers.EmailField(required=False, help_text="Only this client's matters (their email).")


class GrantSerializer(serializers.ModelSerializer[Grant]):
    grantee = serializers.EmailField(source="grantee.email", read_only=True)
    granted_by = serializers.EmailField(source="granted_by.email", read_only=True)
    matter = serializers.CharField(source="matter.reference", read_only=True)

    class Meta:
        model = Grant
        fields = ["id", "matter", "grantee", "granted_by", "reason", "created", "expires_at", "revoked_at"]


class GrantCreateSerializer(serializers.Serializer[dict[str, object]]):
    grantee = serializers.EmailField()
    expires_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=500)


class GrantExpirySerializer(serializers.Serializer[dict[str, object]]):
    expires_at = serializers.DateTimeField()


class MeSerializer(serializers.Serializer[dict[str, object]]):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    firm = serializers.CharField(help_text="The firm's slug.")
    roles = serializers.ListField(child=serializers.CharField())


class _MatterAccessSerializer(serializers.Serializer[dict[str, object]]):
    reference = serializers.CharField()
    access_via = serializers.ListField(child=serializers.CharField())
    grant_expires_at = serializers.DateTimeField(allow_null=True)


class _UserAccessSerializer(serializers.Serializer[dict[str, object]]):
    email = serializers.EmailField()
    name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    two_factor = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)
    matters = _MatterAccessSerializer(many=True)


class AccessReviewSerializer(serializers.Serializer[dict[str, object]]):
    """Who can reach what, as of a moment (the staff page's access review)."""

    as_of = serializers.DateTimeField()
    users = _UserAccessSerializer(many=True)
