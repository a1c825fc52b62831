"""Forms of the staff workspace's case management: search, review, stage, messages, matter types."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from core.access import staff_to_assign
from core.conditions import ConditionError, condition_check
from core.matters import ATTORNEY_ROLES
from core.models import Deadline, DocumentRequirement, IntakeQuestion, Matter, MatterType, Task, User, WorkflowStage
from core.models.casework import ReasonCode


class MatterSearchForm(forms.Form):
    text = forms.CharField(required=False, label="Search", max_length=200)
    matter_type = forms.ChoiceField(required=False, label="Type")
    stage = forms.ChoiceField(required=False, label="Stage")
    status = forms.ChoiceField(required=False, label="Status", choices=[("", "Any"), *Matter.Status.choices])
    mine = forms.BooleanField(required=False, label="Only mine")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = MatterType.objects.values_list("code", flat=True)
        self.fields["matter_type"].choices = [("", "Any"), *((code, code) for code in codes)]  # type: ignore[attr-defined]
        stages = dict(WorkflowStage.objects.values_list("code", "name_en").order_by("position"))
        self.fields["stage"].choices = [("", "Any"), *stages.items()]  # type: ignore[attr-defined]


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    reason_code = forms.ChoiceField(required=False, choices=[("", "—"), *((c.value, c.value) for c in ReasonCode)])
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not data.get("reason_code"):
            self.add_error("reason_code", "Choose a reason for the rejection.")
        return data


class StageForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=WorkflowStage.objects.none(), required=False, empty_label="Next stage")

    def __init__(self, *args: Any, matter: Matter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = WorkflowStage.objects.filter(matter_type_id=matter.matter_type_id)  # type: ignore[attr-defined]


class MessageForm(forms.Form):
    body = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}), label="Message")


class JSONText(forms.CharField):
    """A JSON value typed in a textarea."""

    def __init__(self, *, empty: object, **kwargs: Any) -> None:
        self.empty = empty
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json.dumps(value if value is not None else self.empty)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return self.empty
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error.msg}.") from None


class MatterTypeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = MatterType
        fields = ["code", "name_en", "name_es", "description_en", "description_es", "active"]


class _ConditionalForm(forms.ModelForm):  # type: ignore[type-arg]
    """Checks the condition against the questions of the matter type."""

    matter_type: MatterType

    def __init__(self, *args: Any, matter_type: MatterType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matter_type = matter_type
        self.instance.matter_type = matter_type

    def known_questions(self) -> set[str]:
        return set(self.matter_type.questions.values_list("key", flat=True))

    def clean_condition(self) -> Any:
        condition = self.cleaned_data.get("condition")
        try:
            condition_check(condition, known_questions=self.known_questions())
        except ConditionError as error:
            raise forms.ValidationError(str(error)) from None
        return condition


class IntakeQuestionForm(_ConditionalForm):
    choices = JSONText(empty=[], help_text='[{"value": "a", "en": "A", "es": "A"}]')
    condition = JSONText(empty={}, help_text='e.g. {"question": "previously_married", "equals": true}')

    class Meta:
        model = IntakeQuestion
        fields = [
            "key",
            "position",
            "label_en",
            "label_es",
            "help_en",
            "help_es",
            "kind",
            "required",
            "choices",
            "condition",
            "min_value",
            "max_value",
        ]

    def known_questions(self) -> set[str]:
        return super().known_questions() - {self.instance.key or ""}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choices = data.get("choices") or []
        if data.get("kind") == IntakeQuestion.Kind.CHOICE:
            if not isinstance(choices, list) or not choices:
                self.add_error("choices", "A choice question needs at least one choice.")
            elif not all(isinstance(c, dict) and "value" in c and c.get("en") for c in choices):
                self.add_error("choices", 'Each choice needs a "value" and an English label "en".')
        if data.get("key") and data["key"] in self._keys_used_elsewhere():
            self.add_error("key", "Another question of this type already has this key.")
        return data

    def _keys_used_elsewhere(self) -> set[str]:
        return set(self.matter_type.questions.exclude(pk=self.instance.pk).values_list("key", flat=True))


class DocumentRequirementForm(_ConditionalForm):
    condition = JSONText(empty={}, help_text='e.g. {"question": "previously_married", "equals": true}')
    acceptable_types = forms.MultipleChoiceField(
        required=False,
        choices=[(t, t) for t in ("application/pdf", "image/jpeg", "image/png", "image/webp")],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = DocumentRequirement
        fields = [
            "code",
            "position",
            "name_en",
            "name_es",
            "instructions_en",
            "instructions_es",
            "responsible",
            "required",
            "condition",
            "repeat_for",
            "acceptable_types",
            "max_size_mb",
            "due_offset_days",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        repeat_for = data.get("repeat_for")
        if repeat_for:
            kinds = dict(self.matter_type.questions.values_list("key", "kind"))
            if kinds.get(repeat_for) != IntakeQuestion.Kind.NUMBER:
                self.add_error("repeat_for", "Repeat for must name a number question of this matter type.")
        code = data.get("code")
        if code and self.matter_type.requirements.exclude(pk=self.instance.pk).filter(code=code).exists():
            self.add_error("code", "Another requirement of this type already has this code.")
        if data.get("max_size_mb") == 0:
            self.add_error("max_size_mb", "The size limit must be at least 1 MB.")
        return data


class WorkflowStageForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = WorkflowStage
        fields = ["code", "name_en", "name_es", "position", "optional"]

    def __init__(self, *args: Any, matter_type: MatterType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matter_type = matter_type
        self.instance.matter_type = matter_type

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if self.matter_type.stages.exclude(pk=self.instance.pk).filter(code=code).exists():
            raise forms.ValidationError("Another stage of this type already has this code.")
        return str(code)


class MatterOpenForm(forms.Form):
    email = forms.EmailField(label="Client's email")
    full_name = forms.CharField(label="Client's full name", max_length=200)
    language = forms.ChoiceField(label="Client's language", choices=User.Language.choices)
    phone = forms.CharField(label="Phone", max_length=32, required=False)
    matter_type = forms.ModelChoiceField(queryset=MatterType.objects.filter(active=True), label="Matter type")
    title = forms.CharField(max_length=200, required=False, help_text="Leave empty for “name, type”.")
    responsible_attorney: forms.ModelChoiceField[User] = forms.ModelChoiceField(queryset=None, required=False)
    assigned_paralegal: forms.ModelChoiceField[User] = forms.ModelChoiceField(queryset=None, required=False)
    invite = forms.BooleanField(required=False, initial=True, label="Email the client an invitation now")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = staff_to_assign()
        attorneys = staff.filter(groups__name__in=[r.value for r in ATTORNEY_ROLES]).distinct()
        self.fields["responsible_attorney"].queryset = attorneys  # type: ignore[attr-defined]
        self.fields["assigned_paralegal"].queryset = staff  # type: ignore[attr-defined]


class _StaffChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name())


class TaskForm(forms.Form):
    """A task by hand: on a matter (from its page) or for the firm (from the task list)."""

    title = forms.CharField(max_length=300, label="What has to be done")
    assignee = _StaffChoice(queryset=staff_to_assign(), required=False, label="Who", empty_label="Nobody yet")
    due_on = forms.DateField(required=False, label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.ChoiceField(choices=Task.Priority.choices, initial=Task.Priority.NORMAL, label="Priority")


class TaskChangeForm(forms.Form):
    state = forms.ChoiceField(choices=Task.State.choices, required=False)
    assignee = _StaffChoice(queryset=staff_to_assign(), required=False, label="Who", empty_label="Nobody yet")
    priority = forms.ChoiceField(choices=Task.Priority.choices, required=False)


class DeadlineForm(forms.Form):
    kind = forms.ChoiceField(choices=Deadline.Kind.choices, label="What")
    title = forms.CharField(max_length=200, required=False, label="Details")
    due_at = forms.DateTimeField(label="When", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    location = forms.CharField(max_length=300, required=False, label="Where")
    responsible = _StaffChoice(
        queryset=staff_to_assign(), required=False, label="Responsible", empty_label="The responsible attorney"
    )


class DeadlineChangeForm(forms.Form):
    done = forms.ChoiceField(choices=[("yes", "Done"), ("no", "Not done")], required=False)
    due_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class CalendarForm(forms.Form):
    scope = forms.ChoiceField(choices=[("mine", "Mine"), ("firm", "The firm's")], required=False)
    person = _StaffChoice(queryset=staff_to_assign(), required=False, label="Whose", empty_label="Everyone")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    weeks = forms.IntegerField(required=False, min_value=1, max_value=26, label="Weeks")


class ReceiptForm(forms.Form):
    receipt_number = forms.CharField(max_length=20, label="Receipt number", help_text="e.g. IOE0912345678")
    form = forms.CharField(max_length=20, label="Form", help_text="e.g. I-130")
    received_on = forms.DateField(required=False, label="Notice date", widget=forms.DateInput(attrs={"type": "date"}))
