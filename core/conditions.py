"""A tiny evaluator for the JSON conditions on intake questions and document requirements (no ``eval``).

A condition is ``{}`` (always holds) or one of::

    {"question": "previously_married", "equals": true}
    {"question": "prior_marriages", "at_least": 1}
    {"question": "degree_level", "in": ["master", "doctorate"]}
    {"question": "details", "answered": true}
    {"all": [cond, ...]}   {"any": [cond, ...]}   {"not": cond}

A question that has not been answered makes every comparison false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPERATORS = ("equals", "in", "at_least", "answered")


class ConditionError(ValueError):
    """A condition that is not of the shapes above."""


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def condition_holds(condition: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    if not condition:
        return True
    if "all" in condition:
        return all(condition_holds(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(condition_holds(part, answers) for part in condition["any"])
    if "not" in condition:
        return not condition_holds(condition["not"], answers)
    key = condition.get("question")
    if not isinstance(key, str):
        raise ConditionError(f"a condition needs a question, all, any or not: {dict(condition)!r}")
    value = answers.get(key)
    if "answered" in condition:
        return (value not in (None, "")) == bool(condition["answered"])
    if value is None or value == "":
        return False
    if "equals" in condition:
        return bool(value == condition["equals"])
    if "in" in condition:
        return value in condition["in"]
    if "at_least" in condition:
        number = _number(value)
        return number is not None and number >= float(condition["at_least"])
    raise ConditionError(f"unknown operator in {dict(condition)!r} (known: {', '.join(OPERATORS)})")


def condition_check(condition: Any, *, known_questions: set[str]) -> None:
    """Raise ConditionError unless ``condition`` is well formed and names only known questions."""
    if condition in (None, {}):
        return
    if not isinstance(condition, Mapping):
        raise ConditionError("a condition is a JSON object")
    for combinator in ("all", "any"):
        if combinator in condition:
            if not isinstance(condition[combinator], list):
                raise ConditionError(f"{combinator} takes a list of conditions")
            for part in condition[combinator]:
                condition_check(part, known_questions=known_questions)
            return
    if "not" in condition:
        condition_check(condition["not"], known_questions=known_questions)
        return
    key = condition.get("question")
    if key not in known_questions:
        raise ConditionError(f"the condition names an unknown question {key!r}")
    if not any(op in condition for op in OPERATORS):
        raise ConditionError(f"the condition needs one of {', '.join(OPERATORS)}")
