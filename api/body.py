"""The body of an API request as the JSON object every endpoint reads its fields from.

DRF's ``request.data`` is whatever the JSON held: a list, a string or a number
too. An endpoint that reads fields takes the body through ``json_object``, so
such a body is a 400 in the one error shape, not a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.request import Request


def json_object(request: Request) -> Mapping[str, Any]:
    data = request.data
    if not isinstance(data, Mapping):
        raise ParseError("The request body must be a JSON object.")
    return data
