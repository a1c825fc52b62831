"""Structured log context: every record carries the tenant and the request id."""

from __future__ import annotations

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from django.db import connection

        record.tenant = getattr(connection, "schema_name", "-")
        record.request_id = request_id_var.get()
        return True
