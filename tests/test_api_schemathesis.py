"""schemathesis against the served OpenAPI schema (issue 14 Tests): a real server, a real token, every check on.

The schemathesis CLI (``st run``) loads ``/api/v1/schema/`` from a real HTTP
server on a loopback port (``tests.support.live_api``: the whole WSGI stack,
in this test's transaction, so everything it changes is rolled back) and calls
every operation of the schema (all 58: GET, POST, PATCH, DELETE; its writes are
as safe as the test's rollback) with a token that an integration of the firm
admin's, holding every scope, got from the token endpoint over the same server
(client credentials). The path ids are real ones of firm A's (the URL walk's victims:
M1, its grant, invoice, documents, webhook endpoint…), so the calls reach the
views' logic rather than 404. ``--checks all``: no 5xx, every status code,
content type, header and body as the schema says, schema-invalid input refused
and schema-valid input accepted, and the auth checks.

Two checks are told of answers the schema cannot rule out (``_config``):
``positive_data_acceptance`` accepts 400/412/422 for input that is valid for
the schema but not for the firm's rules (an expiry in the past, issuing an
empty invoice, a forged cursor, a reused Idempotency-Key); and
``negative_data_rejection`` accepts 412, since a stale ``If-Match`` is refused
before the body is read.

Bounded for the suite (about 10 s): the examples and fuzzing phases, with
``SUITE_EXAMPLES`` cases per operation and mode (positive and negative) and a
fixed seed, so a failure reproduces. ``PORTICO_SCHEMATHESIS_DEEP=1`` adds the
coverage and stateful phases with 10 examples (thousands of cases, minutes):
run it when the API changes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from core.api_tokens import all_scopes
from core.integrations import integration_register
from tests.support.cast import Cast
from tests.support.live_api import live_api
from tests.test_url_access import _victim_ids

SUITE_EXAMPLES = 1
SEED = "20261203"
pytestmark = pytest.mark.slow  # starts the schemathesis CLI: handed out first

ACCEPTED = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "422", "429", "5xx"]
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429", "5xx"]


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


def _config(path: Path, ids: dict[str, int]) -> Path:
    lines = [
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {_toml_list(ACCEPTED)}",
        "[checks.negative_data_rejection]",
        f"expected-statuses = {_toml_list(REJECTED)}",
        "[parameters]",
        *(f"{name} = {value}" for name, value in sorted(ids.items())),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_schemathesis_finds_no_server_error_and_no_schema_violation(cast: Cast, tmp_path: Path, settings: Any) -> None:
    settings.PORTICO_API_TOKEN_RATE = settings.PORTICO_API_FIRM_RATE = "100000/min"  # its calls are not throttled
    ids = _victim_ids(cast)
    with cast.firm.tenant:
        registered = integration_register(name="schemathesis", scopes=list(all_scopes()), by=cast.alice)
    config = _config(tmp_path / "schemathesis.toml", ids)
    deep = os.environ.get("PORTICO_SCHEMATHESIS_DEEP") == "1"
    phases = "examples,coverage,fuzzing,stateful" if deep else "examples,fuzzing"
    examples = "10" if deep else str(SUITE_EXAMPLES)

    with live_api(cast.firm) as api:
        got = requests.post(
            f"{api.origin}/api/v1/oauth/token/",
            data={"grant_type": "client_credentials"},
            auth=(registered.client_id, registered.client_secret),
            headers={"Host": api.host},
            timeout=10,
        )
        assert got.status_code == 200, got.text
        token = got.json()["access_token"]
        result = subprocess.run(
            [
                *(str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run"),
                *(f"{api.origin}/api/v1/schema/", "--url", api.origin),
                *("-H", f"Host: {api.host}", "-H", f"Authorization: Bearer {token}"),
                *("--checks", "all", "--phases", phases, "--max-examples", examples, "--seed", SEED),
                *("--workers", "1", "--generation-database", "none", "--no-color"),
                "--generation-with-security-parameters=false",
            ],
            cwd=tmp_path,  # its own files (.hypothesis, .schemathesis) stay out of the work tree
            capture_output=True,
            text=True,
            timeout=900 if deep else 120,
            check=False,
        )

    report = result.stdout + result.stderr
    counts = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    assert counts is not None, report[-3000:]
    assert counts.group(1) == counts.group(2) == counts.group(3), counts.group(0)  # every operation of the schema
    assert result.returncode == 0, report[-8000:]
