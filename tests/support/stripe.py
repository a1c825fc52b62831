"""Stripe for tests: real localstripe, a small fake for what it lacks (Connect), signed events.

``localstripe`` (PyPI) runs as a subprocess on a free loopback port and speaks
PaymentIntents, payment methods and refunds for real. It has no Connect: it
ignores ``Stripe-Account`` and knows no accounts or account links. So Portico
talks to ``StripeFront``, a small HTTP server in this process that answers
``/v1/accounts`` and ``/v1/account_links`` itself (objects shaped from
``shared/stripe/fixtures3.json``) and forwards every other request to
localstripe unchanged; it records every request with its ``Stripe-Account``
and ``Idempotency-Key`` headers, so tests assert which account each charge was
made on.

localstripe has no Checkout Sessions either: the front answers
``/v1/checkout/sessions`` (create, with Stripe's answer to a repeated
idempotency key; retrieve and expire, only on the account it was made on;
expire refused once paid, as Stripe does) with objects
shaped from Stripe's example ``checkout.session``, and serves a tiny HTML page at
each session's hosted ``url`` so a browser can land there. What the client does
on Stripe's page is ``StripeFront.checkout_complete``: it creates a real
PaymentIntent on localstripe with the session's amount, currency and
``payment_intent_data[metadata]`` and pays it with a card, so the events the
tests then sign are about a real object; ``checkout_expire`` is the session's
end unpaid. As published, localstripe pickles its one global store to a fixed
file (``/tmp/localstripe.pickle``) after every change, so every process would
share it; here it is started with the store kept in its own memory, one
localstripe per test process, and flushed (``DELETE /_config/data``) before each
test. Tests of different workers never see each other's objects.

Disputes are not in localstripe either: the front holds the disputes a test gives it
(``StripeFront.disputes``, shaped by ``dispute()``), answers their update (evidence
taken; ``submit`` puts the dispute under review) and close (lost), only on the
account they were opened on, and takes evidence uploads at ``/v1/files``
(multipart, recorded with the file's bytes in ``Recorded.files``).

Events are built by the tests around the real objects (the PaymentIntent as
localstripe holds it), stamped with the connected ``account``, and signed as
Stripe signs them (``t=...,v1=HMAC-SHA256(secret, "t.body")``).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import html
import json
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port

SECRET_KEY = "sk_test_portico"
WEBHOOK_SECRET = "whsec_portico_tests"
API_VERSION = "2025-09-30.clover"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures3.json"


def fixture(kind: str) -> dict[str, Any]:
    """A fresh copy of Stripe's own example object of ``kind`` (shared/stripe/fixtures3.json)."""
    resources = _fixtures()
    return copy.deepcopy(resources[kind])


_cache: dict[str, Any] = {}


def _fixtures() -> dict[str, Any]:
    if not _cache:
        path = FIXTURES if FIXTURES.exists() else Path("/work/shared/stripe/fixtures3.json")
        _cache.update(json.loads(path.read_text())["resources"])
    return _cache


@dataclass
class Recorded:
    method: str
    path: str
    stripe_account: str | None
    idempotency_key: str | None
    form: dict[str, list[str]]
    # A multipart upload's files (``/v1/files``): field name -> (filename, bytes).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class StripeFront:
    url: str
    localstripe_url: str
    requests: list[Recorded] = field(default_factory=list)
    # Stripe unreachable for reads of PaymentIntents (answers 503), to prove the webhook task retries.
    down: bool = False
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    onboarded: set[str] = field(default_factory=set)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Disputes by id, each with the connected account it is on under "_account" (set by the test).
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset(self) -> None:
        self.requests.clear()
        self.down = False
        self.accounts.clear()
        self.onboarded.clear()
        self.sessions.clear()
        self.disputes.clear()
        request = urllib.request.Request(f"{self.localstripe_url}/_config/data", method="DELETE")  # noqa: S310 - loopback
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback

    def made(self, method: str, path_start: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_start)]

    # --- What the client's browser does with Stripe.js, done here against localstripe --------------------
    def ls(self, method: str, path: str, data: dict[str, str] | None = None) -> dict[str, Any]:
        body = urllib.parse.urlencode(data or {}).encode() if method != "GET" else None
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.localstripe_url}{path}",
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            result: dict[str, Any] = json.loads(response.read())
            return result

    def pay(self, payment_intent_id: str, card: str = "4242424242424242") -> dict[str, Any]:
        """Pay the PaymentIntent with a card, as Stripe.js would (localstripe: modify, then confirm)."""
        method = self.ls(
            "POST",
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": card,
                "card[exp_month]": "12",
                "card[exp_year]": "2030",
                "card[cvc]": "123",
            },
        )
        self.ls("POST", f"/v1/payment_intents/{payment_intent_id}", {"payment_method": method["id"]})
        return self.ls("POST", f"/v1/payment_intents/{payment_intent_id}/confirm")

    # --- What the client does on Stripe's hosted Checkout page ------------------------------------------------
    def session(self, session_id: str) -> dict[str, Any]:
        """The session as Stripe shows it (in its events too); the front's own bookkeeping left out."""
        return {k: copy.deepcopy(v) for k, v in self.sessions[session_id].items() if not k.startswith("_")}

    def session_for(self, url: str) -> dict[str, Any]:
        """The session whose hosted page is at ``url`` (where Portico sent the client)."""
        return self.session(url.rstrip("/").rsplit("/", 1)[1])

    def checkout_complete(
        self, session_id: str, card: str = "4242424242424242"
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The client pays on the page: a real PaymentIntent on localstripe, paid; the session then complete."""
        session = self.sessions[session_id]
        metadata = session["_payment_intent_metadata"]
        intent = self.ls(
            "POST",
            "/v1/payment_intents",
            {
                "amount": str(session["amount_total"]),
                "currency": session["currency"],
                "payment_method_types[]": "card",
                **{f"metadata[{key}]": value for key, value in metadata.items()},
            },
        )
        intent = self.pay(intent["id"], card)
        session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return self.session(session_id), intent

    def checkout_expire(self, session_id: str) -> dict[str, Any]:
        """The page closed unpaid (the client left and the session's time passed)."""
        self.sessions[session_id].update(status="expired", url=None)
        return self.session(session_id)


class _Handler(BaseHTTPRequestHandler):
    front: StripeFront

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        files: dict[str, tuple[str, bytes]] = {}
        if (self.headers.get("Content-Type") or "").startswith("multipart/form-data"):
            form, files = _multipart(self.headers["Content-Type"], raw)
        else:
            form = urllib.parse.parse_qs(raw.decode()) if raw else {}
        self.front.requests.append(
            Recorded(
                method=self.command,
                path=path,
                stripe_account=self.headers.get("Stripe-Account"),
                idempotency_key=self.headers.get("Idempotency-Key"),
                form=form,
                files=files,
            )
        )
        if path == "/v1/accounts" and self.command == "POST":
            return self._answer(200, self._account_create(form))
        if path.startswith("/v1/accounts/") and self.command == "GET":
            account = self.front.accounts.get(path.rsplit("/", 1)[1])
            if account is None:
                return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such account"}})
            return self._answer(200, account)
        if path == "/v1/account_links" and self.command == "POST":
            return self._answer(200, self._link(form))
        if self.front.down and path.startswith("/v1/payment_intents/") and self.command == "GET":
            return self._answer(503, {"error": {"type": "api_error", "message": "Stripe is down (test switch)"}})
        if path == "/v1/checkout/sessions" and self.command == "POST":
            return self._answer(200, self._public(self._session_create(form)))
        if path.startswith("/v1/checkout/sessions/") and self.command == "GET":
            session = self.front.sessions.get(path.rsplit("/", 1)[1])
            if session is None or session["_account"] != self.headers.get("Stripe-Account"):
                return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such session"}})
            return self._answer(200, self._public(session))
        if path.startswith("/v1/checkout/sessions/") and path.endswith("/expire") and self.command == "POST":
            return self._session_expire(path.split("/")[4])
        if path.startswith("/checkout/pay/") and self.command == "GET":
            return self._page(path.rsplit("/", 1)[1])
        if path == "/v1/files" and self.command == "POST":
            return self._file(form, files)
        if path.startswith("/v1/disputes/") and self.command == "POST":
            return self._dispute(path.split("/")[3], form, close=path.endswith("/close"))
        self._forward(raw)

    def _file(self, form: dict[str, list[str]], files: dict[str, tuple[str, bytes]]) -> None:
        name, content = files.get("file", ("", b""))
        body = fixture("file")
        body.update(
            id=f"file_{secrets.token_hex(8)}",
            purpose=form.get("purpose", [""])[0],
            filename=name,
            size=len(content),
            created=int(time.time()),
            links=None,
        )
        return self._answer(200, body)

    def _dispute(self, dispute_id: str, form: dict[str, list[str]], *, close: bool) -> None:
        found = self.front.disputes.get(dispute_id)
        if found is None or found["_account"] != self.headers.get("Stripe-Account"):
            return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such dispute"}})
        if found["status"] not in ("warning_needs_response", "needs_response"):
            message = f"This dispute is already {found['status']}."
            return self._answer(400, {"error": {"type": "invalid_request_error", "message": message}})
        if close:
            found["status"] = "lost"
        else:
            for key, values in form.items():
                if key.startswith("evidence[") and key.endswith("]"):
                    found["evidence"][key[len("evidence[") : -1]] = values[0]
            found["evidence_details"]["has_evidence"] = True
            if form.get("submit", [""])[0] == "true":
                found["status"] = "under_review"
                found["evidence_details"]["submission_count"] += 1
        return self._answer(200, self._public(found))

    @staticmethod
    def _public(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def _session_create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        key = self.headers.get("Idempotency-Key")
        for session in self.front.sessions.values():  # Stripe answers a repeated key with the first object
            if key and session["_idempotency_key"] == key:
                return session

        def one(name: str, default: str = "") -> str:
            return form.get(name, [default])[0]

        def prefixed(prefix: str) -> dict[str, str]:
            return {k[len(prefix) : -1]: v[0] for k, v in form.items() if k.startswith(prefix)}

        price = "line_items[0][price_data]"
        session = fixture("checkout.session")
        session_id = f"cs_test_{secrets.token_hex(16)}"
        amount = int(one(f"{price}[unit_amount]", "0")) * int(one("line_items[0][quantity]", "1"))
        session.update(
            id=session_id,
            amount_subtotal=amount,
            amount_total=amount,
            currency=one(f"{price}[currency]"),
            created=int(time.time()),
            expires_at=int(one("expires_at", str(int(time.time()) + 86400))),
            locale=one("locale") or None,
            metadata=prefixed("metadata["),
            client_reference_id=one("client_reference_id") or None,
            mode=one("mode"),
            payment_intent=None,
            payment_status="unpaid",
            status="open",
            success_url=one("success_url"),
            cancel_url=one("cancel_url"),
            customer_details=None,
            shipping_address_collection=None,
            shipping_cost=None,
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            url=f"{self.front.url}/checkout/pay/{session_id}",
            _account=self.headers.get("Stripe-Account"),
            _idempotency_key=key or "",
            _payment_intent_metadata=prefixed("payment_intent_data[metadata]["),
            _name=one(f"{price}[product_data][name]"),
        )
        self.front.sessions[session_id] = session
        return session

    def _session_expire(self, session_id: str) -> None:
        session = self.front.sessions.get(session_id)
        if session is None or session["_account"] != self.headers.get("Stripe-Account"):
            return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such session"}})
        if session["status"] != "open":
            message = "Only Checkout Sessions with a status in [open] can be expired."
            return self._answer(400, {"error": {"type": "invalid_request_error", "message": message}})
        session.update(status="expired", url=None)
        return self._answer(200, self._public(session))

    def _page(self, session_id: str) -> None:
        """Stripe's hosted page, as far as a test browser needs: it landed there, and on which session."""
        session = self.front.sessions.get(session_id)
        title = "Checkout (test)" if session else "No such session"
        detail = (
            f"<p>{html.escape(str(session['_name']))}: {session['amount_total']} {session['currency']}</p>"
            if session
            else ""
        )
        data = (
            f'<!DOCTYPE html><html lang="{(session or {}).get("locale") or "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>{title}</title></head>'
            f"<body><main><h1>{title}</h1>{detail}</main></body></html>"
        ).encode()
        self.send_response(200 if session else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _account_create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        key = self.headers.get("Idempotency-Key")
        for account in self.front.accounts.values():  # Stripe answers a repeated key with the first object
            if key and account["metadata"].get("_idempotency_key") == key:
                return account
        account = fixture("account")
        account_id = f"acct_{secrets.token_hex(8)}"
        account.update(
            id=account_id,
            charges_enabled=False,
            details_submitted=False,
            payouts_enabled=False,
            controller={
                "type": "application",
                "fees": {"payer": form.get("controller[fees][payer]", ["account"])[0]},
                "losses": {"payments": form.get("controller[losses][payments]", ["stripe"])[0]},
                "stripe_dashboard": {"type": form.get("controller[stripe_dashboard][type]", ["full"])[0]},
            },
            metadata={
                **{k[len("metadata[") : -1]: v[0] for k, v in form.items() if k.startswith("metadata[")},
                "_idempotency_key": key or "",
            },
        )
        self.front.accounts[account_id] = account
        return account

    def _link(self, form: dict[str, list[str]]) -> dict[str, Any]:
        account_id = form["account"][0]
        link = fixture("account_link")
        link.update(
            created=int(time.time()),
            expires_at=int(time.time()) + 300,
            url=f"https://connect.stripe.test/setup/s/{account_id}/{secrets.token_hex(6)}",
        )
        # The admin finishes onboarding at Stripe: the account reads as enabled from now on.
        account = self.front.accounts[account_id]
        account.update(charges_enabled=True, details_submitted=True, payouts_enabled=True)
        return link

    def _forward(self, raw: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() in {"authorization", "content-type"}}
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.front.localstripe_url}{self.path}", data=raw or None, method=self.command, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _handle


def _multipart(content_type: str, raw: bytes) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes]]]:
    """A multipart/form-data body's fields and files (what Stripe's library sends to /v1/files)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    form: dict[str, list[str]] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition") or "")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if part.get_filename():
            files[name] = (str(part.get_filename()), content)
        else:
            form.setdefault(name, []).append(content.decode())
    return form, files


# localstripe, with its store kept in its own memory: as published it pickles the whole store to one fixed
# file (/tmp/localstripe.pickle) after every change, which would make every test process share one store.
_IN_MEMORY_LOCALSTRIPE = """
import localstripe.resources as resources
resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None
from localstripe.server import start
start()
"""


@pytest.fixture(scope="session")
def stripe_servers() -> Iterator[StripeFront]:
    """localstripe as a subprocess, and the recording front in a thread, both on free loopback ports."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _IN_MEMORY_LOCALSTRIPE, "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    localstripe_url = f"http://127.0.0.1:{port}"
    server: ThreadingHTTPServer | None = None
    try:
        _wait(localstripe_url)
        front = StripeFront(url="", localstripe_url=localstripe_url)
        handler = type("Handler", (_Handler,), {"front": front})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        front.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield front
    finally:
        if server is not None:
            server.shutdown()
        process.terminate()
        process.wait(timeout=10)


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/v1/customers", timeout=1).close()  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # it answers (401 without a key): it is up
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def stripe_front(stripe_servers: StripeFront, settings: Any, monkeypatch: pytest.MonkeyPatch) -> StripeFront:
    """Portico pointed at the front (and so at localstripe), with the tests' keys; both emptied first.

    The webhook's task runs eagerly, inside the request, in these in-process tests: a
    worker adds only the broker hop, which tests/test_stripe_worker.py covers with a
    real worker. ``task_eager_propagates`` stays off, as a worker's errors never reach the sender.
    """
    from core.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    stripe_servers.reset()
    settings.PORTICO_STRIPE_SECRET_KEY = SECRET_KEY
    settings.PORTICO_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PORTICO_STRIPE_API_BASE = stripe_servers.url
    return stripe_servers


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``, as Stripe computes it."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def event(kind: str, obj: dict[str, Any], *, account: str, event_id: str | None = None) -> dict[str, Any]:
    """A Stripe event of ``kind`` about ``obj`` on connected ``account`` (shaped from Stripe's example event)."""
    body = fixture("event")
    body.update(
        id=event_id or f"evt_{secrets.token_hex(12)}",
        type=kind,
        account=account,
        api_version=API_VERSION,
        created=int(time.time()),
        data={"object": obj},
        pending_webhooks=1,
        request={"id": f"req_{secrets.token_hex(6)}", "idempotency_key": None},
    )
    return body


def charge_refunded(intent: dict[str, Any], *, amount_refunded: int) -> dict[str, Any]:
    """The charge of ``intent`` as Stripe shows it in ``charge.refunded`` (shaped from Stripe's example charge)."""
    charge = fixture("charge")
    charge.update(
        id=intent.get("latest_charge") or f"ch_{secrets.token_hex(8)}",
        amount=intent["amount"],
        amount_captured=intent["amount"],
        amount_refunded=amount_refunded,
        currency=intent["currency"],
        payment_intent=intent["id"],
        metadata=dict(intent.get("metadata") or {}),  # a charge carries its PaymentIntent's metadata
        refunded=amount_refunded >= intent["amount"],
        status="succeeded",
    )
    return charge


def dispute(
    intent: dict[str, Any], *, amount: int | None = None, fee: int = 0, status: str = "needs_response", id: str = ""
) -> dict[str, Any]:
    """A dispute on the charge of ``intent`` as ``charge.dispute.created`` carries it (Stripe's example dispute)."""
    body = fixture("dispute")
    body.update(
        id=id or f"dp_{secrets.token_hex(8)}",
        amount=intent["amount"] if amount is None else amount,
        charge=intent.get("latest_charge") or f"ch_{secrets.token_hex(8)}",
        currency=intent["currency"],
        payment_intent=intent["id"],
        reason="fraudulent",
        status=status,
    )
    if fee:  # Stripe's dispute fee, on the dispute's withdrawal (a balance transaction of the dispute)
        body["balance_transactions"] = [
            balance_transaction(body["id"], amount=-body["amount"], fee=fee, kind="adjustment")
        ]
    return body


def balance_transaction(source: str, *, amount: int, fee: int, kind: str = "charge") -> dict[str, Any]:
    """A balance transaction with a processing fee (localstripe's fees are always 0, so tests build them)."""
    body = fixture("balance_transaction")
    body.update(
        id=f"txn_{secrets.token_hex(8)}",
        amount=amount,
        fee=fee,
        net=amount - fee,
        source=source,
        type=kind,
        reporting_category=kind,
        fee_details=[
            {
                "amount": fee,
                "application": None,
                "currency": "usd",
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ],
    )
    return body


def with_fee(intent: dict[str, Any], *, fee: int) -> dict[str, Any]:
    """``intent`` as ``payment_intent.succeeded`` would carry it with its charge's balance transaction expanded,
    with a processing fee of ``fee`` (real Stripe charges one; localstripe's is 0)."""
    body = copy.deepcopy(intent)
    charge = body.get("latest_charge")
    charge = copy.deepcopy(charge) if isinstance(charge, dict) else fixture("charge")
    charge.update(payment_intent=intent["id"], amount=intent["amount"], currency=intent["currency"])
    charge["balance_transaction"] = balance_transaction(str(charge["id"]), amount=intent["amount"], fee=fee)
    body["latest_charge"] = charge
    return body
