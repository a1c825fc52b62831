"""Objects written by a transaction that does not commit are deleted again: ``storage_atomic``.

    from residency.storage import client_files, storage_atomic

    @storage_atomic                       # instead of @transaction.atomic
    def document_submit(...):
        name = client_files.save(...)     # the object exists now; its row commits with this block
        ...                               # an error here, or a connection killed, rolls the row back

``FirmStorage`` writes the ciphertext first and its row (``StoredObject``)
second, inside the caller's transaction, so a row always points at a complete
object. The reverse needs this module: when the block does not commit, every
object written inside it is deleted (exactly the S3 version written). Two
cases are told apart:

* the block raised: the transaction is rolled back (or its connection is gone,
  which rolls it back on the server), so the objects are deleted outright;
* the block finished but the commit failed (the connection died during
  COMMIT): the server may have committed, so an object is deleted only when
  its row is not there; when the database cannot say, it is left for the sweep
  (``residency.orphans``), which deletes objects without a row after a grace
  period.

Nested inside another ``storage_atomic``, a block that succeeds hands its objects
to the outer one (they live or die with the outer commit). Inside a plain
``transaction.atomic`` nothing here sees the outer rollback: the sweep does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ParamSpec, TypeVar, overload

from django.db import connection, transaction

from residency.backends import Placement
from residency.models import StoredObject
from tenants.models import Tenant

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Written:
    """One object a storage call wrote: where, and which S3 version ("" on the local backend)."""

    tenant: Tenant
    place: Placement
    name: str
    version_id: str


_journal: ContextVar[list[Written] | None] = ContextVar("portico_storage_journal", default=None)


def undo_if_not_committed(written: Written) -> None:
    """Called by ``FirmStorage`` once an object and its row are written; a no-op outside ``storage_atomic``."""
    journal = _journal.get()
    if journal is not None:
        journal.append(written)


@contextmanager
def _storage_atomic() -> Iterator[None]:
    parent = _journal.get()
    journal: list[Written] = []
    token = _journal.set(journal)
    commits_here = not connection.in_atomic_block
    finished = False
    try:
        with transaction.atomic():
            yield
            finished = True  # leaving the block now commits (when it is the outermost)
    except BaseException:
        _undo(journal, commit_attempted=finished and commits_here)
        raise
    else:
        if parent is not None:
            parent.extend(journal)
    finally:
        _journal.reset(token)


@overload
def storage_atomic(func: Callable[P, R]) -> Callable[P, R]: ...


@overload
def storage_atomic(func: None = None) -> AbstractContextManager[None]: ...


def storage_atomic(func: Callable[P, R] | None = None) -> Callable[P, R] | AbstractContextManager[None]:
    """``transaction.atomic`` (as a decorator or ``with storage_atomic():``) that undoes the files written inside."""
    if func is None:
        return _storage_atomic()
    return _storage_atomic()(func)  # a generator context manager is made afresh for every call


def _undo(journal: list[Written], *, commit_attempted: bool) -> None:
    for written in reversed(journal):
        if commit_attempted:
            committed = _row_committed(written)
            if committed is not False:  # committed after all, or the database cannot say: the sweep decides
                continue
        try:
            written.place.delete(written.name, written.version_id)
        except Exception:
            logger.warning(
                "%s/%s was written by a transaction that did not commit and could not be deleted now; "
                "the orphan sweep will delete it",
                written.tenant.slug,
                written.name,
                exc_info=True,
            )


def _row_committed(written: Written) -> bool | None:
    """Whether the object's row is in the database (True/False), or None when the database cannot be asked."""
    try:
        with written.tenant:
            return StoredObject.objects.filter(name=written.name, version_id=written.version_id).exists()
    except Exception:
        logger.warning("could not tell whether %s/%s was committed", written.tenant.slug, written.name, exc_info=True)
        return None
