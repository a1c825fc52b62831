"""Stripe webhook ingestion: ``uv run python -m bench.stripe_webhooks [--payments N] [--threads N]``.

In a throwaway database (``portico_bench_stripe``, on DATABASE_URL's server or
the embedded one, created here and dropped at the end) with a real firm
onboarded, its two connected accounts and N clients each with a retainer
request and a started online payment on the trust account:

- the app is served over HTTP on a free loopback port (Django's threaded WSGI
  server in this process) and the events are posted to ``/stripe/webhook/``,
  signed as Stripe signs them, from ``--threads`` client threads;
- the events: one ``payment_intent.succeeded`` per payment, a full
  ``charge.refunded`` for every tenth payment sent *before* its success (out of
  order: answered 409, re-sent at the end as Stripe retries), and 20% of all
  events sent a second time (duplicates);
- measured: events/s accepted, p50/p95 time to the 2xx, what each event
  answered, and at the end the books: every payment posted exactly once, no
  double posting, the client trust ledgers equal to the trust bank.

The webhook is processed inline in the request (no Celery worker yet), so the
time to the 2xx includes the posting. Goal from issue 12: p95 to 2xx <= 50 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.firm import bench_firm, percentiles

DATABASE = "portico_bench_stripe"
SECRET = "whsec_bench_only"  # noqa: S105 (a throwaway signing secret)
P95_GOAL_MS = 50.0


def prepare(tenant: Any, payments: int) -> tuple[str, list[dict[str, Any]]]:
    """The firm's accounts and ``payments`` started retainer payments; the trust account id and the intents."""
    from billing.money import Money
    from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest
    from core.models import Matter, MatterType, User
    from tenants.models import StripeAccountRoute

    with tenant:
        admin = User.objects.get(email="a@bench.test")
        trust = ConnectedAccount.objects.create(
            kind="trust",
            stripe_account_id="acct_bench_trust",
            idempotency_key="k-trust",
            created_by=admin,
            status="enabled",
        )
        StripeAccountRoute.objects.create(account_id="acct_bench_trust", tenant=tenant)
        User.objects.bulk_create([User(email=f"c{n}@bench.test", full_name=f"Client {n}") for n in range(payments)])
        clients = list(User.objects.filter(email__startswith="c", email__endswith="@bench.test").order_by("pk"))
        kind = MatterType.objects.order_by("pk").first()
        Matter.objects.bulk_create(
            [Matter(reference=f"S-{n:05d}", title="m", matter_type=kind, client=c) for n, c in enumerate(clients)]
        )
        matters = list(Matter.objects.filter(reference__startswith="S-").order_by("pk"))
        currency = Money(1).currency
        RetainerRequest.objects.bulk_create(
            [
                RetainerRequest(
                    client=m.client, matter=m, amount_minor=500_00, currency=currency, purpose="r", requested_by=admin
                )
                for m in matters
            ]
        )
        retainers = list(RetainerRequest.objects.order_by("pk"))
        OnlinePayment.objects.bulk_create(
            [
                OnlinePayment(
                    purpose="retainer",
                    account=trust,
                    account_kind="trust",
                    retainer=r,
                    client_id=r.client_id,
                    matter_id=r.matter_id,
                    amount_minor=r.amount_minor,
                    currency=currency,
                    idempotency_key=f"k-{n}",
                    payment_intent_id=f"pi_bench_{n}",
                )
                for n, r in enumerate(retainers)
            ]
        )
    intents = [
        {"id": f"pi_bench_{n}", "object": "payment_intent", "amount": 500_00, "amount_received": 500_00,
         "currency": currency.lower(), "status": "succeeded", "latest_charge": f"ch_bench_{n}"}
        for n in range(payments)
    ]  # fmt: skip
    return "acct_bench_trust", intents


def event(kind: str, obj: dict[str, Any], account: str, number: int) -> bytes:
    body = {
        "id": f"evt_bench_{kind}_{number}",
        "object": "event",
        "type": kind,
        "account": account,
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }
    return json.dumps(body).encode()


def sign(payload: bytes) -> str:
    stamp = int(time.time())
    return f"t={stamp},v1={hmac.new(SECRET.encode(), f'{stamp}.'.encode() + payload, hashlib.sha256).hexdigest()}"


def post(url: str, payload: bytes) -> tuple[int, float, str]:
    request = urllib.request.Request(  # noqa: S310 - loopback benchmark server
        url,
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    elapsed = (time.perf_counter() - started) * 1000
    return status, elapsed, json.loads(body or b"{}").get("outcome", "")


def serve() -> tuple[str, Any]:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_address[1]}/stripe/webhook/", server


def books(tenant: Any) -> dict[str, int]:
    from django.db.models import Count

    from billing.ledger.accounts import account_for
    from billing.ledger.models import Account, JournalEntry
    from billing.ledger.selectors import balance
    from billing.stripe.models import OnlinePayment

    with tenant:
        per_payment = (
            JournalEntry.objects.filter(kind="trust.deposit").values("memo").annotate(n=Count("id")).filter(n__gt=1)
        )
        clients = sum(
            balance(a).minor for a in Account.objects.filter(kind=Account.Kind.CLIENT_TRUST).select_related("matter")
        )
        return {
            "succeeded_or_refunded": OnlinePayment.objects.exclude(status="started").count(),
            "deposits": JournalEntry.objects.filter(kind="trust.deposit").count(),
            "refunds": JournalEntry.objects.filter(kind="trust.refund.online").count(),
            "double": per_payment.count(),
            "trust_bank": balance(account_for(Account.Kind.TRUST_BANK)).minor,
            "clients": clients,
        }


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stripe_webhooks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--payments", type=int, default=2_000, help="payments, one success event each (default 2,000)")
    parser.add_argument("--threads", type=int, default=2, help="client threads posting (default 2)")
    args = parser.parse_args(argv)
    os.environ["PORTICO_STRIPE_WEBHOOK_SECRET"] = SECRET

    rng = random.Random(12)
    with bench_firm(DATABASE) as firm:
        account, intents = prepare(firm.tenant, args.payments)
        early = [
            event("charge.refunded", {"object": "charge", "id": i["latest_charge"], "payment_intent": i["id"],
                                      "amount": i["amount"], "amount_refunded": i["amount"], "currency": i["currency"]},
                  account, n)
            for n, i in enumerate(intents) if n % 10 == 0
        ]  # fmt: skip
        succeeded = [event("payment_intent.succeeded", i, account, n) for n, i in enumerate(intents)]
        stream = early + succeeded
        stream += rng.sample(stream, k=len(stream) // 5)  # 20% duplicates, sent again later
        url, server = serve()
        print(f"posting {len(stream):,} events with {args.threads} threads...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            results = list(pool.map(lambda p: post(url, p), stream))
        retried = [p for p, (status, _ms, _o) in zip(stream, results, strict=True) if status == 409]
        with ThreadPoolExecutor(args.threads) as pool:  # Stripe's retries of what was answered 409
            retries = list(pool.map(lambda p: post(url, p), retried))
        total = time.perf_counter() - started
        server.shutdown()
        state = books(firm.tenant)

    timings = [ms for status, ms, _o in results + retries if 200 <= status < 300]
    outcomes = Counter(f"{status} {outcome}" for status, _ms, outcome in results + retries)
    p50, p95, _p99 = percentiles(timings)
    refunds_expected = len(early)
    ok = (
        state["double"] == 0
        and state["deposits"] == args.payments
        and state["refunds"] == refunds_expected
        and state["trust_bank"] == state["clients"]
        and p95 <= P95_GOAL_MS
    )
    print(f"\nStripe webhook ingestion ({firm.server}, {os.cpu_count()} CPUs, {args.threads} client threads)\n")
    balanced = state["trust_bank"] == state["clients"]
    rows = [
        ("events posted (incl. duplicates, retries)", f"{len(stream) + len(retried):,}", "", ""),
        ("events/s answered 2xx", f"{len(timings) / total:,.0f}", "", ""),
        ("time to 2xx p50 / p95 (ms)", f"{p50:.1f} / {p95:.1f}", f"<= {P95_GOAL_MS:g}", _verdict(p95 <= P95_GOAL_MS)),
        ("all applied after (s)", f"{total:.1f}", "<= 60", "PASS" if total <= 60 else "FAIL"),
        ("payments posted once / expected", f"{state['deposits']:,} / {args.payments:,}", "", ""),
        ("refunds posted / expected", f"{state['refunds']:,} / {refunds_expected:,}", "", ""),
        ("double postings", f"{state['double']}", "0", "PASS" if state["double"] == 0 else "FAIL"),
        ("trust bank = sum of client ledgers", f"{state['trust_bank'] / 100:,.2f}", "", _verdict(balanced)),
    ]  # fmt: skip
    print(f"{'metric':<44}{'value':>22}   {'goal':<9}result")
    for name, value, goal, verdict in rows:
        print(f"{name:<44}{value:>22}   {goal:<9}{verdict}")
    print("\nanswers: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(outcomes.items())))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
