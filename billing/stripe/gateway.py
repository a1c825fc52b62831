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


def payment_intent_charge(*, account_id: str, payment_intent_id: str) -> str | None:
    """The id of the PaymentIntent's charge on ``account_id`` (None before it is charged)."""
    retrieve = _client().v1.payment_intents.retrieve
    intent = _call("read the payment", retrieve, payment_intent_id, None, {"stripe_account": account_id})
    charge = intent.get("latest_charge")
    if not charge:
        charges = (intent.get("charges") or {}).get("data") or []  # older API versions (and the test server)
        charge = charges[0].get("id") if charges else None
    if isinstance(charge, dict):
        charge = charge.get("id")
    return str(charge) if charge else None


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


# --- Payment plans: a card saved off-session on the operating account, then one charge per installment -----


@dataclass(frozen=True)
class Setup:
    setup_intent_id: str
    client_secret: str
    status: str
    payment_method_id: str


@dataclass(frozen=True)
class OffSessionCharge:
    """What Stripe answered to an off-session charge: ``declined`` carries the bank's reason."""

    status: Literal["succeeded", "processing", "declined"]
    payment_intent_id: str
    decline_code: str = ""
    message: str = ""


def _setup(intent: dict[str, Any]) -> Setup:
    method = intent.get("payment_method") or ""
    return Setup(
        setup_intent_id=str(intent["id"]),
        client_secret=str(intent.get("client_secret") or ""),
        status=str(intent["status"]),
        payment_method_id=str(method["id"] if isinstance(method, dict) else method),
    )


def customer_create(
    *, account_id: str, email: str, name: str, language: str, metadata: dict[str, str], idempotency_key: str
) -> str:
    """A Customer on the connected account ``account_id`` (the card is saved there, where it is charged)."""
    customer = _call(
        "save the client at Stripe",
        _client().v1.customers.create,
        {"email": email, "name": name, "preferred_locales": [language], "metadata": metadata},
        {"stripe_account": account_id, "idempotency_key": idempotency_key},
    )
    return str(customer["id"])


def payment_plan_start(*, account_id: str, customer_id: str, metadata: dict[str, str], idempotency_key: str) -> Setup:
    """A SetupIntent for off-session use: Stripe.js confirms it with the client's card, which is then kept
    on ``customer_id`` for the plan's installments. Direct: on the connected account the charges will be on."""
    intent = _call(
        "start saving the card",
        _client().v1.setup_intents.create,
        {"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"], "metadata": metadata},
        {"stripe_account": account_id, "idempotency_key": idempotency_key},
    )
    return _setup(intent)


def setup_intent_retrieve(*, account_id: str, setup_intent_id: str) -> Setup:
    """The SetupIntent as Stripe holds it now (whether the client's card was saved)."""
    return _setup(
        _call(
            "read the saved card",
            _client().v1.setup_intents.retrieve,
            setup_intent_id,
            None,
            {"stripe_account": account_id},
        )
    )


def installment_charge(
    *,
    account_id: str,
    customer_id: str,
    payment_method_id: str,
    amount_minor: int,
    currency: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> OffSessionCharge:
    """Charge a saved card off-session (``confirm=true``), a direct charge of ``amount_minor`` on ``account_id``.

    A decline is an answer, not an error: ``OffSessionCharge(status="declined")``. Anything
    else Stripe refuses (or not reaching it) is ``GatewayError``, and the caller retries with the same key.
    """
    params: Any = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "customer": customer_id,
        "payment_method": payment_method_id,
        "payment_method_types": ["card"],
        "confirm": True,
        "off_session": True,
        "metadata": metadata,
    }
    options: Any = {"stripe_account": account_id, "idempotency_key": idempotency_key}
    try:
        intent: dict[str, Any] = _client().v1.payment_intents.create(params, options).to_dict()
    except stripe.CardError as exc:
        body: dict[str, Any] = exc.json_body if isinstance(exc.json_body, dict) else {}
        error: dict[str, Any] = body.get("error") or {}
        declined = error.get("payment_intent") or {}
        return OffSessionCharge(
            status="declined",
            payment_intent_id=str(declined.get("id") or "") if isinstance(declined, dict) else "",
            decline_code=str(error.get("decline_code") or error.get("code") or "card_declined"),
            message=str(error.get("message") or exc.user_message or "declined"),
        )
    except stripe.StripeError as exc:
        message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
        raise GatewayError(f"Stripe refused to charge the installment: {message}") from exc
    status = str(intent.get("status"))
    if status in ("succeeded", "processing"):
        return OffSessionCharge(status=status, payment_intent_id=str(intent["id"]))  # type: ignore[arg-type]
    # requires_action (the bank wants the client present) or requires_payment_method: not charged.
    error = intent.get("last_payment_error") or {}
    return OffSessionCharge(
        status="declined",
        payment_intent_id=str(intent["id"]),
        decline_code=str(error.get("code") or status),
        message=str(error.get("message") or "The bank asked for the cardholder to confirm the payment."),
    )


# --- Disputes -----------------------------------------------------------------------------------------------------


def dispute_file_upload(
    *, account_id: str, filename: str, content: bytes, content_type: str, idempotency_key: str
) -> str:
    """Upload a document to Stripe as dispute evidence (``purpose=dispute_evidence``) on ``account_id``; its id."""
    import io

    upload = io.BytesIO(content)
    upload.name = filename
    params: Any = {"purpose": "dispute_evidence", "file": upload}
    options: Any = {"stripe_account": account_id, "idempotency_key": idempotency_key}
    answer = _call("take the evidence document", _client().v1.files.create, params, options)
    return str(answer["id"])


def dispute_update(
    *, account_id: str, dispute_id: str, text: str, file_id: str, submit: bool, idempotency_key: str
) -> dict[str, Any]:
    """Give Stripe the firm's evidence on ``dispute_id`` (the text, the uploaded file) and, with ``submit``, send it
    to the card network now; Stripe's dispute as it is afterwards."""
    evidence: dict[str, str] = {"uncategorized_text": text}
    if file_id:
        evidence["uncategorized_file"] = file_id
    params: Any = {"evidence": evidence, "submit": submit}
    options: Any = {"stripe_account": account_id, "idempotency_key": idempotency_key}
    return _call("take the dispute's evidence", _client().v1.disputes.update, dispute_id, params, options)


def dispute_close(*, account_id: str, dispute_id: str, idempotency_key: str) -> dict[str, Any]:
    """Accept ``dispute_id``: the firm does not contest it (Stripe marks it lost); Stripe's dispute afterwards."""
    options: Any = {"stripe_account": account_id, "idempotency_key": idempotency_key}
    return _call("close the dispute", _client().v1.disputes.close, dispute_id, None, options)
