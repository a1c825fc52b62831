"""The one lock order of billing's transactions, and the bounded retry of those the database still aborts.

Every billing service that writes runs as ``@money_transaction``, which takes,
in this order and never another:

1. **the firm's audit chain head** (``core.audit.services.audit_lock_head``),
   first of all. Every money event is audited and the head is held until commit
   anyway; taken late, after a trust account, it deadlocked with a service that
   took the trust account after auditing (issue 18 item 2). Taken first, billing
   transactions queue on it per firm and meet no other lock in a cycle;
2. **the document being changed** (invoice, trust request, deposit, credit note,
   refund, write-off, statement line): ``select_for_update(of=("self",))``,
   never the client's user row or the matter joined to it;
3. **the firm's number sequence** (invoice and credit-note numbers);
4. **the ledger accounts drawn on** (client trust, client credit), as
   ``FOR NO KEY UPDATE`` so that inserting lines that reference them is not blocked;
5. **the monthly account totals**, upserted by the ledger's trigger in
   (account, month) order.

Code outside billing that locks a row and then calls a billing service (a
matter's stage completing drafts an invoice) takes its row first and the head
second; it locks with ``no_key=True`` so billing's inserts referencing that row
never wait for it.

What is left (a serialization failure, a deadlock with code that keeps another
order) is retried: the whole transaction, up to ``ATTEMPTS`` times with a short
randomised back-off, only when the service is the outermost transaction (inside
someone else's, the retry belongs to them). When every attempt fails the caller
gets ``MoneyBusy``, a ``ValidationError``: pages and the API show "try again",
never a 500.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction

from core.audit.services import audit_lock_head

P = ParamSpec("P")
R = TypeVar("R")

ATTEMPTS = 5
# PostgreSQL's SQLSTATEs for "run the transaction again": serialization_failure, deadlock_detected.
RETRYABLE = frozenset({"40001", "40P01"})
logger = logging.getLogger(__name__)


class MoneyBusy(ValidationError):
    """The books were too busy to take this change after every retry; nothing was saved."""

    def __init__(self) -> None:
        super().__init__(
            "Other changes to the books were being saved at the same moment; nothing was saved. Try again."
        )


def is_retryable(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE


def money_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` in a transaction that takes the chain head first, retrying a deadlock or serialization failure."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:  # part of a bigger transaction: its owner retries
            with transaction.atomic():
                audit_lock_head()
                return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    audit_lock_head()
                    return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
                logger.warning("%s: %s (attempt %d of %d)", func.__qualname__, exc.__cause__, attempt, ATTEMPTS)
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311  (jitter, not a secret)
        raise MoneyBusy()

    return wrapper
