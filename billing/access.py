"""Reaching billing's protected objects: one accessor per model, answering 404 for missing, not yours and malformed.

Views and the API reach billing objects only through these accessors (the
Zulip ``access_<thing>_by_id`` pattern of STYLE.md): each takes the signed-in
user and the id exactly as it arrived (a URL part, a form field, a JSON value)
and answers the object or raises ``Http404``, the same for an id that does not
exist, one the user may not reach, and one that is not an id at all. The
permission to act on the object (403) is the view's or the service's check.

Trust and reconciliation (trust requests, trust deposits, bank statements,
their lines, and the trust-bank ledger lines they are matched to) are the
firm's books: billing staff who may read the ledger (``billing.view_ledger``)
reach every one of them; nobody else reaches any.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from billing.ledger.models import Account, JournalLine
from billing.reconciliation.models import BankStatement, StatementLine
from billing.trust.models import TrustDeposit, TrustRequest
from core.models import User
from core.roles import VIEW_LEDGER

# ---------------------------------------------------------------------------------------------------------------
# Trust and reconciliation: requests, deposits, statements, statement lines, trust-bank ledger lines.
# ---------------------------------------------------------------------------------------------------------------

_BIGINT_MAX = 2**63 - 1


def parse_object_id(value: object) -> int | None:
    """An object id as sent (``12``, ``"12"``), or None for anything else (``"12abc"``, ``-1``, ``True``, ``1e3``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 0 < number <= _BIGINT_MAX else None


def keeps_the_books(user: User | AnonymousUser) -> bool:
    """Active billing staff who may read the ledger, trust money and reconciliation."""
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perm(VIEW_LEDGER))


def _books_id(user: User | AnonymousUser, value: object, what: str) -> int:
    number = parse_object_id(value)
    if number is None or not keeps_the_books(user):
        raise Http404(f"No such {what}.")
    return number


def trust_request_for_user(user: User | AnonymousUser, request_id: object) -> TrustRequest:
    """A disbursement or refund request, with its client, matter and requester."""
    number = _books_id(user, request_id, "request")
    found = TrustRequest.objects.select_related("client", "matter", "requested_by").filter(pk=number).first()
    if found is None:
        raise Http404("No such request.")
    return found


def trust_deposit_for_user(user: User | AnonymousUser, deposit_id: object) -> TrustDeposit:
    """Money received into trust, with its client and matter."""
    number = _books_id(user, deposit_id, "deposit")
    found = TrustDeposit.objects.select_related("client", "matter").filter(pk=number).first()
    if found is None:
        raise Http404("No such deposit.")
    return found


def bank_statement_for_user(user: User | AnonymousUser, statement_id: object) -> BankStatement:
    """An imported statement of the trust bank account."""
    number = _books_id(user, statement_id, "statement")
    found = BankStatement.objects.select_related("account").filter(pk=number).first()
    if found is None:
        raise Http404("No such statement.")
    return found


def statement_line_for_user(user: User | AnonymousUser, line_id: object) -> StatementLine:
    """One transaction of an imported statement, with its statement."""
    number = _books_id(user, line_id, "statement line")
    found = StatementLine.objects.select_related("statement").filter(pk=number).first()
    if found is None:
        raise Http404("No such statement line.")
    return found


def trust_bank_line_for_user(user: User | AnonymousUser, line_id: object) -> JournalLine:
    """A ledger line of a trust bank account (what a statement line is matched to); no other account's lines."""
    number = _books_id(user, line_id, "ledger line")
    found = (
        JournalLine.objects.select_related("entry", "account")
        .filter(pk=number, account__kind=Account.Kind.TRUST_BANK)
        .first()
    )
    if found is None:
        raise Http404("No such ledger line.")
    return found
