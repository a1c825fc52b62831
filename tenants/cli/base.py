"""What every `portico` verb shares: the click root and ``tenants`` group, Django set-up, errors, JSON.

Exit codes: 0 success, 1 failure (e.g. a duplicate slug, an unknown firm),
2 usage error (bad option or bad input such as an invalid slug, unknown region
or bad email). Errors are one line on stderr. Verb modules import this one;
only the package root (``tenants.cli``) imports the verb modules.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from tenants.dev.process import first_line, setup_django

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def with_django(func: F) -> F:
    """Load Django first, and turn every error into one line on stderr and an exit code.

    An unexpected error (database down, email server refusing) exits 1 with its
    first line, scrubbed of personal data, and goes to Sentry when SENTRY_DSN is set
    (scrubbed there too, ``core.sentry``); PORTICO_DEBUG_CLI=1 lets the traceback through instead.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from django.core.exceptions import ImproperlyConfigured

        try:
            setup_django()
        except ImproperlyConfigured as exc:
            fail(f"configuration: {exc}")
        from tenants.services import TenantError, TenantInputError

        try:
            return func(*args, **kwargs)
        except TenantInputError as exc:
            fail(str(exc), code=2)
        except TenantError as exc:
            fail(str(exc))
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as exc:
            if os.environ.get("PORTICO_DEBUG_CLI"):
                raise
            _report(exc)
            from core.scrubbing import scrub_text

            fail(f"{scrub_text(first_line(exc))} (PORTICO_DEBUG_CLI=1 shows the traceback)")

    return wrapper  # type: ignore[return-value]


def _report(exc: BaseException) -> None:
    """Send an unexpected error to Sentry (a no-op without SENTRY_DSN), before the process exits."""
    import sentry_sdk

    sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=5)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Portico vendor operations: onboard and run law firms (tenants)."""


@main.group("tenants")
def tenants_group() -> None:
    """Create, inspect, suspend and migrate firms."""
