"""Matter types as data, per firm (SPEC §6): intake questions, document requirements, workflow stages.

A firm edits its own copy (every firm is cloned from the template, which holds
the defaults seeded by migration 0004, ``core/migrations/_0004_matter_type_defaults.py``). Labels are stored in English
and Spanish because firms write them; conditions are small JSON objects read
by ``core.conditions`` (never ``eval``).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import translation


def _in_language(english: str, spanish: str) -> str:
    return spanish if translation.get_language() == "es" and spanish else english


class MatterType(models.Model):
    code = models.CharField(max_length=32, unique=True, help_text="e.g. I-130")
    name_en = models.CharField(max_length=200)
    name_es = models.CharField(max_length=200, blank=True)
    description_en = models.TextField(blank=True)
    description_es = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        permissions = [("manage_matter_types", "Can edit the firm's matter types, questions and requirements")]

    def __str__(self) -> str:
        return f"{self.code} {self.name_en}"

    @property
    def name(self) -> str:
        return _in_language(self.name_en, self.name_es)


class IntakeQuestion(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        YES_NO = "yes_no", "Yes or no"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        NUMBER = "number", "Number"

    matter_type = models.ForeignKey(MatterType, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=64, help_text="The answer's name, used in conditions.")
    position = models.PositiveIntegerField(default=0)
    label_en = models.CharField(max_length=300)
    label_es = models.CharField(max_length=300)
    help_en = models.CharField(max_length=500, blank=True)
    help_es = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    required = models.BooleanField(default=True)
    choices = models.JSONField(
        default=list, blank=True, help_text='For choice questions: [{"value": "...", "en": "...", "es": "..."}]'
    )
    condition = models.JSONField(
        default=dict,
        blank=True,
        help_text='Asked only when it holds, e.g. {"question": "previously_married", "equals": true}',
    )
    min_value = models.IntegerField(null=True, blank=True, help_text="For number questions.")
    max_value = models.IntegerField(null=True, blank=True, help_text="For number questions.")

    class Meta:
        ordering = ["matter_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["matter_type", "key"], name="intake_question_key_unique")]

    def __str__(self) -> str:
        return f"{self.matter_type.code}: {self.key}"

    @property
    def label(self) -> str:
        return _in_language(self.label_en, self.label_es)

    @property
    def help(self) -> str:
        return _in_language(self.help_en, self.help_es)

    def choice_options(self) -> list[tuple[str, str]]:
        """(value, label in the current language) for each choice."""
        return [(str(c["value"]), _in_language(c.get("en", str(c["value"])), c.get("es", ""))) for c in self.choices]


class DocumentRequirement(models.Model):
    class Party(models.TextChoices):
        CLIENT = "client", "Client"
        FIRM = "firm", "Firm"

    matter_type = models.ForeignKey(MatterType, on_delete=models.CASCADE, related_name="requirements")
    code = models.SlugField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    name_en = models.CharField(max_length=200)
    name_es = models.CharField(max_length=200)
    instructions_en = models.TextField(blank=True)
    instructions_es = models.TextField(blank=True)
    responsible = models.CharField(max_length=8, choices=Party.choices, default=Party.CLIENT)
    required = models.BooleanField(default=True)
    condition = models.JSONField(default=dict, blank=True, help_text="Needed only when it holds on the intake answers.")
    repeat_for = models.SlugField(
        max_length=64, blank=True, help_text="A number question: one item per unit (e.g. one per prior marriage)."
    )
    acceptable_types = models.JSONField(
        default=list, blank=True, help_text='Content types, e.g. ["application/pdf", "image/jpeg", "image/png"]'
    )
    max_size_mb = models.PositiveIntegerField(default=20)
    due_offset_days = models.PositiveIntegerField(default=14, help_text="Due this many days after the matter opens.")

    class Meta:
        ordering = ["matter_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["matter_type", "code"], name="document_requirement_code_unique")]

    def __str__(self) -> str:
        return f"{self.matter_type.code}: {self.code}"

    @property
    def name(self) -> str:
        return _in_language(self.name_en, self.name_es)

    @property
    def instructions(self) -> str:
        return _in_language(self.instructions_en, self.instructions_es)

    @property
    def max_size_bytes(self) -> int:
        return self.max_size_mb * 1024 * 1024


class WorkflowStage(models.Model):
    """One step of a matter type's workflow, in order (intake, documents, drafting, …, decision)."""

    matter_type = models.ForeignKey(MatterType, on_delete=models.CASCADE, related_name="stages")
    code = models.SlugField(max_length=32)
    name_en = models.CharField(max_length=100)
    name_es = models.CharField(max_length=100, blank=True)
    position = models.PositiveIntegerField(default=0)
    optional = models.BooleanField(default=False, help_text="Skipped unless chosen (e.g. RFE).")

    class Meta:
        ordering = ["matter_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["matter_type", "code"], name="workflow_stage_code_unique")]

    def __str__(self) -> str:
        return f"{self.matter_type.code}: {self.name_en}"

    @property
    def name(self) -> str:
        return _in_language(self.name_en, self.name_es)


def as_dict(obj: models.Model) -> dict[str, Any]:
    """The editable fields of a matter-type row (for audit data)."""
    return {f.name: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.name not in ("id",)}
