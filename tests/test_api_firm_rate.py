"""The per-firm API budget (``PORTICO_API_FIRM_RATE``, issue 14 item 1), on top of each token's own rate.

Real parts: Redis counts the requests (DRF throttling on the Django cache, its
keys per tenant), the firms' PostgreSQL schemas hold the tokens, every request
goes through the full middleware and DRF stack with a bearer token.
"""

from __future__ import annotations

from django.core.cache import cache
from django.test import Client, override_settings

from core.api_tokens import token_issue
from core.models import User
from tests.support.cast import Cast
from tests.support.firms import Firm


def _bearer(firm: Firm, user: User) -> Client:
    with firm.tenant:
        issued = token_issue(user=user, label="Sync", scopes=["matters:read"], days=30, by=firm.admin)
    return Client(HTTP_HOST=firm.host, HTTP_AUTHORIZATION=f"Bearer {issued.text}")


@override_settings(PORTICO_API_TOKEN_RATE="100/min", PORTICO_API_FIRM_RATE="3/min")
def test_all_the_firms_tokens_share_one_budget_and_429_says_when_to_retry(cast: Cast, firm_b: Firm) -> None:
    cache.clear()
    first, second = _bearer(cast.firm, cast.arthur), _bearer(cast.firm, cast.paula)
    other_firm = _bearer(firm_b, firm_b.admin)

    answers = [first.get("/api/v1/me").status_code, second.get("/api/v1/me").status_code]
    answers.append(first.get("/api/v1/me").status_code)
    over = second.get("/api/v1/me")

    assert answers == [200, 200, 200]
    assert over.status_code == 429
    assert 0 < int(over["Retry-After"]) <= 60
    assert over.json()["error"]["code"] == "throttled"
    assert first.get("/api/v1/me").status_code == 429  # the firm's budget, whichever token
    assert other_firm.get("/api/v1/me").status_code == 200  # another firm has its own
    assert cast.firm.client(cast.arthur).get("/api/v1/me").status_code == 200  # the staff's browser is not counted
