"""URLs for tests/test_error_reports.py: the firm's own URLs plus a view that fails carrying personal data."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from tests.support import personal_data

logger = logging.getLogger("portico.test.errors")


def explode(request: HttpRequest) -> HttpResponse:
    passport_number = personal_data.PASSPORT  # a local variable Sentry must not send
    logger.warning("looking up client %s with passport %s", personal_data.EMAIL, passport_number)
    raise ValueError(personal_data.sentence())


def log_only(request: HttpRequest) -> HttpResponse:
    logger.info("client %s (A-number %s) opened the page", personal_data.EMAIL, personal_data.A_NUMBER)
    return HttpResponse("ok")


urlpatterns = [
    path("test-errors/explode/", explode),
    path("test-errors/log/", log_only),
    path("", include("core.urls")),
]
