"""Password rules beyond Django's (length 12, not common, not all digits, not like the user's email)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from core.models import User

MIN_DISTINCT_CHARACTERS = 6


class CharacterVarietyValidator:
    """Refuses passwords of few distinct characters ("aaaaaaaaaaaa", "abcabcabcabc")."""

    def validate(self, password: str, user: User | None = None) -> None:
        if len(set(password.lower())) < MIN_DISTINCT_CHARACTERS:
            raise ValidationError(
                _("This password repeats too few characters; use at least %(count)d different ones."),
                code="password_too_repetitive",
                params={"count": MIN_DISTINCT_CHARACTERS},
            )

    def get_help_text(self) -> str:
        return _("Your password must use at least %(count)d different characters.") % {"count": MIN_DISTINCT_CHARACTERS}
