"""Error reports to Sentry without personal data (SPEC §10), for the web app, the workers and the CLI.

What is never sent: default PII (user emails, IP addresses, cookies), local variables
of stack frames, request bodies, request headers other than a few technical ones.
What is scrubbed: every string left in the event or a breadcrumb (exception messages,
log messages, URLs and query strings, tags, extra data) through ``core.scrubbing``,
which matches values by their shape (passport numbers, A-numbers, SSNs/ITINs, emails,
bank accounts); keys such as ``passport_number`` are dropped whatever their value.
Each event is tagged with the firm's schema, the request id and the user's id (a
number, not an email), so on-call can find the request in the logs.

``sentry_init`` is called by the settings when ``SENTRY_DSN`` is set, so every process
that loads Django reports the same way; tests pass their own ``transport``.
"""

from __future__ import annotations

from typing import Any

from core.scrubbing import SENSITIVE_KEYS, scrub_data

# Headers that carry no personal data and help to debug; the rest of the request's headers go.
_KEPT_HEADERS = frozenset({"host", "user-agent", "content-type", "content-length", "accept-language", "x-request-id"})
# Event keys whose values are structural (ids, timestamps, code locations), left as they are.
_STRUCTURAL_KEYS = frozenset(
    {
        "event_id",
        "timestamp",
        "start_timestamp",
        "trace_id",
        "span_id",
        "parent_span_id",
        "release",
        "environment",
        "platform",
        "level",
        "sdk",
        "type",
        "module",
        "function",
        "filename",
        "abs_path",
        "lineno",
        "colno",
        "in_app",
        "package",
        "logger",
        "server_name",
        "transaction",
    }
)


def _tags() -> dict[str, str]:
    from core.logging import _tenant, _user_id, request_id_var

    return {"tenant": _tenant(), "request_id": request_id_var.get(), "user_id": _user_id()}


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("env", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {name: value for name, value in headers.items() if name.lower() in _KEPT_HEADERS}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    for frame_holder in (event.get("exception") or {}).get("values") or []:
        for frame in (frame_holder.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    event.setdefault("tags", {}).update({key: value for key, value in _tags().items() if value != "-"})
    return scrub_data(event, keep_keys=_STRUCTURAL_KEYS)  # type: ignore[no-any-return]


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return scrub_data(crumb, keep_keys=_STRUCTURAL_KEYS)  # type: ignore[no-any-return]


def sentry_init(*, dsn: str, environment: str, release: str | None = None, transport: Any = None) -> None:
    import logging

    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        transport=transport,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SENSITIVE_KEYS], recursive=True),
        before_send=before_send,  # type: ignore[arg-type]  # sentry types the event as its Event TypedDict
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=0.0,
    )
