"""Fixtures for the ledger and trust tests: the access cast of firm A, used inside the firm's schema.

``books`` enters firm A for the whole test (``with firm.tenant``), so tests call
services directly. Bill (billing clerk) records and requests; Alice (firm admin)
and Paula (partner) approve.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Firm
from tests.fixtures_access import Cast, build_cast


@pytest.fixture
def books(firm_a: Firm) -> Iterator[Cast]:
    cast = build_cast(firm_a)
    with firm_a.tenant:
        yield cast
