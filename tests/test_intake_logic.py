"""Guided intake: only relevant questions, validation per question, partial saves that resume, KPI stamps."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from core.conditions import ConditionError, condition_check, condition_holds
from core.intake import intake_is_complete, intake_questions_for, intake_save_answers
from core.models import Matter, MatterEvent
from tests.support.casework import answer_i130
from tests.support.cast import Cast


def _keys(matter: Matter) -> list[str]:
    return [question.key for question in intake_questions_for(matter)]


def test_prior_marriage_count_is_asked_only_after_saying_previously_married(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        assert "prior_marriages" not in _keys(m1)

        intake_save_answers(matter=m1, answers={"previously_married": "yes"}, by=cast.carol)

        assert "prior_marriages" in _keys(m1)
        assert m1.intake_answers == {"previously_married": True}


def test_invalid_answers_get_a_message_per_question_and_valid_ones_are_saved(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        result = intake_save_answers(
            matter=m1,
            answers={
                "petitioner_status": "martian",
                "marriage_date": "31/12/2020",
                "previously_married": "maybe",
                "beneficiary_in_us": "no",
            },
            by=cast.carol,
        )

        assert result.errors == {
            "petitioner_status": "Choose one of the options.",
            "marriage_date": "Enter a date like 2024-03-31.",
            "previously_married": "Answer yes or no.",
        }
        assert Matter.objects.get(pk=m1.pk).intake_answers == {"beneficiary_in_us": False}


def test_a_number_outside_its_range_and_a_blank_required_answer_are_refused(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        result = intake_save_answers(
            matter=m1,
            answers={"previously_married": True, "prior_marriages": "12", "marriage_date": " "},
            by=cast.carol,
        )

        assert result.errors == {
            "prior_marriages": "Enter a number from 1 to 9.",
            "marriage_date": "This question needs an answer.",
        }


def test_questions_are_in_the_clients_language(cast: Cast) -> None:
    with cast.firm.tenant, translation.override("es"):
        labels = [question.label for question in intake_questions_for(Matter.objects.get(pk=cast.m1.pk))]

    assert "¿Estuvo casado(a) anteriormente?" in labels


def test_partial_answers_resume_and_completion_stamps_the_kpi_timestamps(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        first = intake_save_answers(matter=m1, answers={"petitioner_status": "citizen"}, by=cast.carol)
        assert first.ok
        assert not first.complete
        started = Matter.objects.get(pk=m1.pk).intake_started_at
        assert started is not None
        assert not intake_is_complete(m1)

        answer_i130(m1, cast.carol, prior_marriages=1)

        saved = Matter.objects.select_related("stage").get(pk=m1.pk)
        assert saved.intake_answers["petitioner_status"] == "citizen"  # the first save was kept
        assert saved.intake_started_at == started
        assert saved.intake_completed_at is not None
        assert intake_is_complete(saved)
        assert saved.stage is not None
        assert saved.stage.code == "documents"
        kinds = list(MatterEvent.objects.filter(matter=m1).values_list("kind", flat=True))
        assert kinds == ["intake.started", "intake.completed", "stage.completed", "stage.entered"]


def test_answering_no_drops_the_answers_that_no_longer_apply(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol, prior_marriages=2)
        intake_save_answers(matter=m1, answers={"previously_married": "no"}, by=cast.carol)

        assert "prior_marriages" not in Matter.objects.get(pk=m1.pk).intake_answers


def test_the_client_of_another_matter_may_not_answer(cast: Cast) -> None:
    with cast.firm.tenant, pytest.raises(PermissionDenied):
        intake_save_answers(matter=cast.m1, answers={"petitioner_status": "citizen"}, by=cast.dan)


def test_conditions_combine_and_compare_without_eval() -> None:
    answers = {"previously_married": True, "prior_marriages": 2, "degree_level": "master"}

    assert condition_holds({"question": "previously_married", "equals": True}, answers)
    assert condition_holds({"question": "prior_marriages", "at_least": 2}, answers)
    assert not condition_holds({"question": "prior_marriages", "at_least": 3}, answers)
    assert condition_holds({"question": "degree_level", "in": ["master", "doctorate"]}, answers)
    assert condition_holds({"all": [{"question": "previously_married", "equals": True}, {"not": {}}]}, answers) is False
    assert condition_holds({"any": [{"question": "unanswered", "equals": 1}, {}]}, answers)
    assert not condition_holds({"question": "unanswered", "equals": None}, answers)
    assert condition_holds({"question": "unanswered", "answered": False}, answers)
    with pytest.raises(ConditionError):
        condition_holds({"question": "previously_married", "like": "__import__('os')"}, answers)


def test_a_condition_naming_an_unknown_question_is_refused() -> None:
    condition_check({"question": "a", "equals": 1}, known_questions={"a"})
    with pytest.raises(ConditionError, match="unknown question 'b'"):
        condition_check({"all": [{"question": "b", "equals": 1}]}, known_questions={"a"})
    with pytest.raises(ConditionError, match="needs one of"):
        condition_check({"question": "a"}, known_questions={"a"})
