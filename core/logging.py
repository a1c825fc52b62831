"""Structured logs: every record carries the tenant, the request id and the user id, with personal data scrubbed.

``RequestContextFilter`` (on the console handler, see ``LOGGING`` in the settings) adds
``tenant`` (the connection's schema), ``request_id`` (``X-Request-ID`` from the proxy,
or one made up by ``core.middleware.RequestIdMiddleware``; in a Celery worker the task
id) and ``user_id`` (the signed-in user's id, once authentication has looked them up),
and runs the message through ``core.scrubbing``. ``JsonFormatter`` writes one JSON
object per line (production); ``PlainFormatter`` the same fields as text (development).
Exception tracebacks are scrubbed too: an exception message may carry a passport number.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from celery.signals import task_postrun, task_prerun
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from core.scrubbing import scrub_text

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
request_var: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("request", default=None)


def _tenant() -> str:
    try:
        from django.db import connection

        return str(getattr(connection, "schema_name", "-"))
    except Exception:  # before Django is configured (gunicorn's own start-up lines)
        return "-"


def _user_id() -> str:
    """The signed-in user's id, only when authentication has already loaded them (never a query from a log line)."""
    request = request_var.get()
    user = request.__dict__.get("_cached_user") if request is not None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return "-"
    return str(user.pk)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant = _tenant()
        record.request_id = request_id_var.get()
        record.user_id = _user_id()
        # Formatted once here, so neither formatter nor any later handler sees the raw arguments.
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep the line rather than break the caller
            message = f"{record.msg} {record.args!r}"
        record.msg = scrub_text(message)
        record.args = None
        return True


class PlainFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return scrub_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return scrub_text(super().formatStack(stack_info))


class JsonFormatter(PlainFormatter):
    """One JSON object per line: time (UTC), level, logger, message, tenant, request_id, user_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_text(record.getMessage()),
            "tenant": getattr(record, "tenant", "-"),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = scrub_text(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def logging_config(*, formatter: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: one console handler with the context filter, ``formatter`` "json" or "plain"."""
    plain = "%(asctime)s %(levelname)s %(name)s tenant=%(tenant)s request=%(request_id)s user=%(user_id)s %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "core.logging.RequestContextFilter"}},
        "formatters": {
            "plain": {"()": "core.logging.PlainFormatter", "format": plain},
            "json": {"()": "core.logging.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["request"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # WeasyPrint and fontTools log every step of a PDF at INFO.
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
        },
    }


class LogContextMiddleware:
    """Makes the current request known to log records (for ``user_id``); place it after RequestIdMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Kept after the response, like the request id: Django's own log line for a 4xx/5xx comes later.
        request_var.set(request)
        return self.get_response(request)


@receiver(request_finished, dispatch_uid="portico_log_request_done")
def _request_done(**kwargs: Any) -> None:
    """The response is closed (after Django's own log line for it): lines from now on belong to no request."""
    request_id_var.set("-")
    request_var.set(None)


# In a worker, the task id is the request id: every line a task logs can be found by it.
_task_tokens: dict[str, contextvars.Token[str]] = {}


@task_prerun.connect(dispatch_uid="portico_log_task_id")
def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_tokens[task_id] = request_id_var.set(f"task-{task_id}")


@task_postrun.connect(dispatch_uid="portico_log_task_id_done")
def _task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        # ValueError: set in another context (a thread pool), which ends with the task anyway.
        with contextlib.suppress(ValueError):
            request_id_var.reset(token)
