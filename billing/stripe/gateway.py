"""Every call Portico makes to Stripe, and the verification of what Stripe sends back.

The only module that imports ``stripe``. Keys come from the environment
(``PORTICO_STRIPE_SECRET_KEY``, ``PORTICO_STRIPE_WEBHOOK_SECRET``) and the API
base from ``PORTICO_STRIPE_API_BASE`` (tests point it at a local server).
Every mutating call takes an idempotency key that the caller saved before the
call; every charge is a direct charge on one connected account (the
``Stripe-Account`` header). Clients pay on Stripe-hosted Checkout
(``checkout_session_create``): no card data reaches Portico.
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
class CheckoutSession:
    """A Stripe-hosted Checkout page: where to send the client, and what Stripe knows of it."""

    session_id: str
    url: str
    status: str  # open, complete, expired
    payment_status: str  # unpaid, paid, no_payment_required
    payment_intent_id: str | None
    expires_at: int


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


def _session(answer: dict[str, Any]) -> CheckoutSession:
    intent = answer.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return CheckoutSession(
        session_id=str(answer["id"]),
        url=str(answer.get("url") or ""),
        status=str(answer.get("status") or ""),
        payment_status=str(answer.get("payment_status") or ""),
        payment_intent_id=str(intent) if intent else None,
        expires_at=int(answer.get("expires_at") or 0),
    )


def checkout_session_create(
    *,
    account_id: str,
    amount_minor: int,
    currency: str,
    description: str,
    metadata: dict[str, str],
    locale: str,
    success_url: str,
    cancel_url: str,
    expires_at: int,
    idempotency_key: str,
) -> CheckoutSession:
    """A Stripe-hosted payment page for exactly ``amount_minor``: a direct charge on ``account_id``.

    The PaymentIntent Stripe makes when the client pays carries ``metadata``
    (``portico_payment``, ``portico_firm``), so its events find the payment even
    before ``checkout.session.completed`` has told Portico its id. No card data
    reaches Portico; the page speaks ``locale`` (the client's language).
    """
    session = _call(
        "start the payment",
        _client().v1.checkout.sessions.create,
        {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_minor,
                        "product_data": {"name": description[:250]},
                    },
                }
            ],
            "payment_method_types": ["card"],
            "payment_intent_data": {"metadata": metadata, "description": description[:500]},
            "metadata": metadata,
            "client_reference_id": metadata.get("portico_payment", ""),
            "locale": locale,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": expires_at,
        },
        {"stripe_account": account_id, "idempotency_key": idempotency_key},
    )
    return _session(session)


def checkout_session_retrieve(*, account_id: str, session_id: str) -> CheckoutSession:
    """What Stripe knows of the session now (read on the connected account it was made on)."""
    return _session(
        _call(
            "read the payment",
            _client().v1.checkout.sessions.retrieve,
            session_id,
            None,
            {"stripe_account": account_id},
        )
    )


def checkout_session_expire(*, account_id: str, session_id: str, idempotency_key: str) -> CheckoutSession:
    """Close an open session so it can no longer be paid (Stripe refuses once it is complete)."""
    return _session(
        _call(
            "close the earlier payment page",
            _client().v1.checkout.sessions.expire,
            session_id,
            None,
            {"stripe_account": account_id, "idempotency_key": idempotency_key},
        )
    )


def refund_create(*, account_id: str, payment_intent_id: str, amount_minor: int, idempotency_key: str) -> str:
    refund = _call(
        "refund the payment",
        _client().v1.refunds.create,
        {"payment_intent": payment_intent_id, "amount": amount_minor},
        {"stripe_account": account_id, "idempotency_key": idempotency_key},
    )
    return str(refund["id"])


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
