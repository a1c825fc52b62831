"""Every call Portico makes to Stripe, and the verification of what Stripe sends back.

The only module that imports ``stripe``. Keys come from the environment
(``PORTICO_STRIPE_SECRET_KEY``, ``PORTICO_STRIPE_WEBHOOK_SECRET``) and the API
base from ``PORTICO_STRIPE_API_BASE`` (tests point it at a local server).
Every mutating call takes an idempotency key that the caller saved before the
call; every charge is a direct charge on one connected account (the
``Stripe-Account`` header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import stripe
from django.conf import settings

AccountKind = Literal["trust", "operating"]
WEBHOOK_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """Stripe refused a call or could not be reached; the message is safe to show staff."""


class InvalidWebhook(ValueError):
    """A webhook body whose signature, timestamp or JSON does not check out."""


@dataclass(frozen=True)
class AccountState:
    account_id: str
    status: Literal["pending", "restricted", "enabled"]


@dataclass(frozen=True)
class Intent:
    payment_intent_id: str
    client_secret: str
    status: str


def _client() -> stripe.StripeClient:
    if not settings.PORTICO_STRIPE_SECRET_KEY:
        raise GatewayError("Online payments are not configured (PORTICO_STRIPE_SECRET_KEY is empty).")
    base = settings.PORTICO_STRIPE_API_BASE
    return stripe.StripeClient(
        settings.PORTICO_STRIPE_SECRET_KEY,
        base_addresses={"api": base, "connect": base, "files": base} if base else None,
        max_network_retries=0,
    )


def _call(what: str, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Make the call; Stripe's answer as a plain dict, or ``GatewayError``."""
    try:
        answer: dict[str, Any] = call(*args, **kwargs).to_dict()
        return answer
    except stripe.StripeError as exc:
        message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
        raise GatewayError(f"Stripe refused to {what}: {message}") from exc


def _status(account: dict[str, Any]) -> AccountState:
    if account.get("charges_enabled"):
        status: Literal["pending", "restricted", "enabled"] = "enabled"
    elif account.get("details_submitted"):
        status = "restricted"
    else:
        status = "pending"
    return AccountState(account_id=str(account["id"]), status=status)


def account_create(*, kind: AccountKind, firm: str, idempotency_key: str) -> AccountState:
    """A connected account for the firm. A trust account never pays its own processing fees:
    the platform does (``controller.fees.payer="application"``), so no fee is ever taken from client money."""
    controller: dict[str, Any] = {
        "fees": {"payer": "application" if kind == "trust" else "account"},
        "losses": {"payments": "application" if kind == "trust" else "stripe"},
        "stripe_dashboard": {"type": "express"},
    }
    params: dict[str, Any] = {
        "controller": controller,
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "metadata": {"portico_firm": firm, "portico_kind": kind},
    }
    account = _call(
        "create the account",
        _client().v1.accounts.create,
        params,
        {"idempotency_key": idempotency_key},
    )
    return _status(account)


def account_retrieve(*, account_id: str) -> AccountState:
    return _status(_call("read the account", _client().v1.accounts.retrieve, account_id))


def account_link(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """A one-time onboarding address at Stripe for the firm's admin."""
    link = _call(
        "start onboarding",
        _client().v1.account_links.create,
        {"account": account_id, "refresh_url": refresh_url, "return_url": return_url, "type": "account_onboarding"},
    )
    return str(link["url"])


def payment_intent_create(
    *,
    account_id: str,
    amount_minor: int,
    currency: str,
    description: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> Intent:
    """A direct charge of exactly ``amount_minor`` on ``account_id`` (no application fee)."""
    intent = _call(
        "start the payment",
        _client().v1.payment_intents.create,
        {
            "amount": amount_minor,
            "currency": currency.lower(),
            # In metadata, not ``description``: the test server refuses that field, and staff see it either way.
            "metadata": {**metadata, "portico_description": description[:500]},
            "payment_method_types": ["card"],
        },
        {"stripe_account": account_id, "idempotency_key": idempotency_key},
    )
    return Intent(
        payment_intent_id=str(intent["id"]), client_secret=str(intent["client_secret"]), status=intent["status"]
    )


def refund_create(*, account_id: str, payment_intent_id: str, amount_minor: int, idempotency_key: str) -> str:
    refund = _call(
        "refund the payment",
        _client().v1.refunds.create,
        {"payment_intent": payment_intent_id, "amount": amount_minor},
        {"stripe_account": account_id, "idempotency_key": idempotency_key},
    )
    return str(refund["id"])


def payment_intent_retrieve(*, account_id: str, payment_intent_id: str) -> dict[str, Any]:
    """The PaymentIntent as Stripe holds it now, its latest charge and that charge's balance transaction expanded.

    Read when the order of events matters (a refund or a dispute seen before the
    payment's success) and for the processing fee of a charge.
    """
    return _call(
        "read the payment",
        _client().v1.payment_intents.retrieve,
        payment_intent_id,
        {"expand": ["latest_charge.balance_transaction"]},
        {"stripe_account": account_id},
    )


def webhook_event_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if ``signature`` signs exactly ``payload`` with our secret within the tolerance."""
    secret = settings.PORTICO_STRIPE_WEBHOOK_SECRET
    if not secret:
        raise InvalidWebhook("no webhook secret is configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidWebhook(str(exc) or "bad signature") from exc
    body: dict[str, Any] = event.to_dict()
    return body
