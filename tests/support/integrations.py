"""Integrations for tests: register one through the real service and get a token from the real token endpoint."""

from __future__ import annotations

import base64
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.test import Client

from core.integrations import RegisteredIntegration, integration_register
from core.models import User
from tests.support.firms import Firm

TOKEN_PATH = "/api/v1/oauth/token/"


@dataclass(frozen=True)
class IntegrationToken:
    registered: RegisteredIntegration
    text: str


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_request(firm: Firm, client_id: str, secret: str, **form: str) -> Any:
    """POST to the firm's token endpoint with the client's id and secret (HTTP Basic), as an integration does."""
    return Client(HTTP_HOST=firm.host).post(
        TOKEN_PATH, {"grant_type": "client_credentials", **form}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )


def integration_token(
    firm: Firm, scopes: Collection[str], *, by: User | None = None, name: str = "Sync"
) -> IntegrationToken:
    """A new integration of ``firm``'s registered by ``by`` (its admin), and a token it got for all its scopes."""
    with firm.tenant:
        registered = integration_register(name=name, scopes=scopes, by=by or firm.admin)
    response = token_request(firm, registered.client_id, registered.client_secret)
    assert response.status_code == 200, response.content
    return IntegrationToken(registered=registered, text=response.json()["access_token"])
