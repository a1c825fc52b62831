"""Matter types are data per firm: the defaults every firm starts with, and a firm admin editing them."""

from __future__ import annotations

import pytest

from core.audit.models import AuditEntry
from core.checklist import checklist_for
from core.models import DocumentRequirement, IntakeQuestion, Matter, MatterType
from tests.support.casework import answer_i130
from tests.support.cast import Cast
from tests.support.firms import Firm

DEFAULT_CODES = {"I-130", "I-485", "H-1B", "N-400", "I-589", "consultation"}


@pytest.mark.django_db  # the firm fixtures are asked for by name, so pytest-django cannot see the database
@pytest.mark.parametrize("which", ["firm_a", "firm_b"])
def test_every_firm_starts_with_the_default_matter_types(which: str, request: pytest.FixtureRequest) -> None:
    firm: Firm = request.getfixturevalue(which)
    with firm.tenant:
        codes = set(MatterType.objects.values_list("code", flat=True))
        stages = list(MatterType.objects.get(code="I-130").stages.values_list("code", flat=True))

    assert codes >= DEFAULT_CODES
    assert stages == ["intake", "documents", "drafting", "attorney_review", "payment", "filed", "rfe", "decision"]


def test_the_i130_asks_for_proof_that_each_prior_marriage_ended_only_when_previously_married(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        never = [line.requirement.code for line in checklist_for(m1)]
        answer_i130(m1, cast.carol, prior_marriages=3)
        twice = [(line.requirement.code, line.slot) for line in checklist_for(m1)]

    assert "prior_marriage_ended" not in never
    assert [slot for code, slot in twice if code == "prior_marriage_ended"] == [1, 2, 3]
    assert ("marriage_certificate", 1) in twice


def test_each_checklist_line_has_a_responsible_party_and_a_due_date(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        lines = {line.requirement.code: line for line in checklist_for(m1)}

    assert lines["passport"].responsible == "client"
    assert lines["g28"].responsible == "firm"
    assert (lines["passport"].due_date - m1.created.date()).days == 7


def test_a_firm_admin_adds_a_conditional_question_and_requirement(cast: Cast) -> None:
    alice = cast.firm.client(cast.alice)
    with cast.firm.tenant:
        i130 = MatterType.objects.get(code="I-130")

    question = alice.post(
        f"/staff/matter-types/{i130.pk}/questions/new/",
        {
            "key": "has_children",
            "position": 9,
            "label_en": "Do you have children?",
            "label_es": "¿Tiene hijos?",
            "kind": "yes_no",
            "required": "on",
            "choices": "",
            "condition": "",
        },
    )
    requirement = alice.post(
        f"/staff/matter-types/{i130.pk}/requirements/new/",
        {
            "code": "birth_certificates",
            "position": 9,
            "name_en": "Children's birth certificates",
            "name_es": "Actas de nacimiento de los hijos",
            "responsible": "client",
            "required": "on",
            "condition": '{"question": "has_children", "equals": true}',
            "acceptable_types": ["application/pdf"],
            "max_size_mb": 5,
            "due_offset_days": 10,
        },
    )

    assert question.status_code == 302
    assert requirement.status_code == 302
    with cast.firm.tenant:
        saved = DocumentRequirement.objects.get(matter_type=i130, code="birth_certificates")
        assert saved.condition == {"question": "has_children", "equals": True}
        assert IntakeQuestion.objects.get(matter_type=i130, key="has_children").label_es == "¿Tiene hijos?"
        assert AuditEntry.objects.filter(action="matter_type.changed").count() == 2


def test_a_condition_on_an_unknown_question_or_a_choice_without_choices_is_refused(cast: Cast) -> None:
    alice = cast.firm.client(cast.alice)
    with cast.firm.tenant:
        i130 = MatterType.objects.get(code="I-130")
    base = {"position": 1, "label_en": "Q", "label_es": "P", "required": "on"}

    unknown = alice.post(
        f"/staff/matter-types/{i130.pk}/questions/new/",
        {**base, "key": "x", "kind": "text", "condition": '{"question": "nope", "equals": 1}'},
    )
    no_choices = alice.post(
        f"/staff/matter-types/{i130.pk}/questions/new/", {**base, "key": "y", "kind": "choice", "choices": "[]"}
    )
    bad_json = alice.post(
        f"/staff/matter-types/{i130.pk}/questions/new/", {**base, "key": "z", "kind": "text", "condition": "{"}
    )

    assert unknown.status_code == 400
    assert "the condition names an unknown question &#x27;nope&#x27;" in unknown.content.decode()
    assert "A choice question needs at least one choice." in no_choices.content.decode()
    assert "Not valid JSON" in bad_json.content.decode()
    with cast.firm.tenant:
        assert not IntakeQuestion.objects.filter(matter_type=i130, key__in=["x", "y", "z"]).exists()


def test_a_firm_admin_renames_a_matter_type_in_spanish(cast: Cast) -> None:
    alice = cast.firm.client(cast.alice)
    with cast.firm.tenant:
        n400 = MatterType.objects.get(code="N-400")

    response = alice.post(
        f"/staff/matter-types/{n400.pk}/",
        {"code": "N-400", "name_en": "Citizenship", "name_es": "Ciudadanía", "active": "on"},
    )

    assert response.status_code == 302
    with cast.firm.tenant:
        assert MatterType.objects.get(pk=n400.pk).name_es == "Ciudadanía"


def test_staff_without_the_permission_do_not_find_the_matter_type_pages(cast: Cast) -> None:
    with cast.firm.tenant:
        i130 = MatterType.objects.get(code="I-130")

    assert cast.firm.client(cast.pete).get(f"/staff/matter-types/{i130.pk}/").status_code == 404
    assert cast.firm.client(cast.pete).get("/staff/matter-types/").status_code == 403


def test_a_clients_a_number_and_passport_are_encrypted_and_found_by_their_hash(cast: Cast) -> None:
    import datetime

    from django.db import connection

    from core.models import ClientProfile

    with cast.firm.tenant:
        ClientProfile.objects.create(
            user=cast.carol,
            a_number="A-123 456 789",
            passport_number="X1234567",
            date_of_birth=datetime.date(1990, 5, 17),
        )
        found = ClientProfile.objects.get(a_number_hash="A123456789")
        with connection.cursor() as cursor:
            cursor.execute("SELECT a_number, passport_number FROM core_clientprofile WHERE id = %s", [found.pk])
            raw = cursor.fetchone()

    assert found.user_id == cast.carol.pk
    assert found.date_of_birth == datetime.date(1990, 5, 17)
    assert "123456789" not in str(raw)
    assert "X1234567" not in str(raw)
