"""A Celery task that fails carrying personal data, for the worker that tests/test_error_reports.py starts."""

from __future__ import annotations

import logging

from core.celery import app
from tests.support import personal_data

logger = logging.getLogger("portico.test.errors")


@app.task(name="tests.support.error_tasks.explode")
def explode(client_email: str) -> None:
    logger.error("task for %s failed a first time (SSN %s)", client_email, personal_data.SSN)
    raise ValueError(personal_data.sentence())
