"""Outgoing webhook delivery: ``uv run python -m bench.webhook_delivery [--events N] [--rate R] [--seconds S]``.

In a throwaway database (``portico_bench_webhooks``, on DATABASE_URL's server
or the embedded one, created here and dropped at the end) with a real firm
onboarded and one endpoint subscribed to every event:

- a real Celery worker (``celery -A core worker``, ``--concurrency`` processes)
  on the broker the settings give (Redis with REDIS_URL, else the filesystem
  transport under the run's own var directory), on a queue of its own;
- the receiver is an HTTP server on loopback in this process (allowed by
  ``PORTICO_WEBHOOKS_ALLOW_LOOPBACK``), which verifies nothing and answers 200,
  noting when each ``webhook-id`` arrived;
- throughput: ``--events`` events written as fast as one writer can (each in
  its own transaction, ``core.webhooks.event_emit``: the outbox rows, then the
  task sent on commit), measured from the first commit to the last arrival;
- latency: events written at ``--rate`` per second for ``--seconds`` seconds;
  for each, the time from its commit to its arrival at the receiver.

Every event must arrive exactly once and in the outbox's order (one endpoint is
delivered in order). Goal from issue 14: p95 change-to-delivery <= 1 s at
100 events/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.firm import bench_firm, percentiles

DATABASE = "portico_bench_webhooks"
QUEUE = "portico-bench-webhooks"
P95_GOAL_S = 1.0


class Arrivals:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at: dict[str, float] = {}
        self.order: list[str] = []
        self.duplicates = 0

    def note(self, event_id: str) -> None:
        now = time.time()
        with self.lock:
            if event_id in self.at:
                self.duplicates += 1
                return
            self.at[event_id] = now
            self.order.append(event_id)

    def wait_for(self, ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(i in self.at for i in ids):
                    return True
            time.sleep(0.02)
        return False


def receive(arrivals: Arrivals) -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            arrivals.note(self.headers["webhook-id"])
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hooks", server


@contextmanager
def worker(concurrency: int, log: Path, queue: str = QUEUE) -> Iterator[None]:
    from django.conf import settings

    from core.celery import app as celery_app
    from tenants.dev.up import Child, stop_children, worker_command

    with celery_app.connection_for_write() as broker:
        broker.default_channel.queue_purge(queue)  # type: ignore[attr-defined]
    child = Child(
        "bench worker",
        worker_command(filesystem_broker=not settings.REDIS_URL, concurrency=concurrency, queues=[queue]),
    )
    with log.open("wb") as output:
        child.start(dict(os.environ), cwd=settings.BASE_DIR, output=output)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text(errors="replace"):
        if child.exit_code() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    try:
        yield
    finally:
        stop_children([child], timeout=30)


def emit(tenant: Any, number: int) -> tuple[str, float]:
    """One change committed: an event in the outbox, its task sent on commit. The id and when it committed."""
    from django.db import transaction

    from core.webhooks import event_emit

    with transaction.atomic():
        event = event_emit(type="matter.opened", data={"matter": number, "reference": f"B-{number:06d}"})
    assert event is not None
    return event.event_id, time.time()


def write(tenant: Any, numbers: range, *, writers: int, rate: float | None) -> tuple[list[tuple[str, float]], float]:
    """Events ``numbers`` written by ``writers`` threads (as many web processes would), at ``rate`` per second
    in all (None: as fast as they can); each event's id and commit time, and the rate achieved."""
    from django.db import connection

    committed: dict[int, tuple[str, float]] = {}
    started = time.monotonic()

    def writer(index: int) -> None:
        with tenant:
            for position, number in enumerate(numbers):
                if position % writers != index:
                    continue
                if rate is not None and (pause := started + position / rate - time.monotonic()) > 0:
                    time.sleep(pause)
                committed[position] = emit(tenant, number)
        connection.close()

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [committed[position] for position in range(len(numbers))], len(numbers) / (time.monotonic() - started)


def throughput(tenant: Any, arrivals: Arrivals, events: int, writers: int) -> tuple[float, list[str]]:
    started = time.time()
    committed, _rate = write(tenant, range(events), writers=writers, rate=None)
    written = [event_id for event_id, _at in committed]
    if not arrivals.wait_for(written, timeout=300):
        raise SystemExit("not every event arrived within 300 s")
    last = max(arrivals.at[i] for i in written)
    return events / (last - started), written


def latency(
    tenant: Any, arrivals: Arrivals, rate: float, seconds: float, writers: int
) -> tuple[list[float], list[str], float]:
    committed, achieved = write(tenant, range(1_000_000, 1_000_000 + int(rate * seconds)), writers=writers, rate=rate)
    ids = [event_id for event_id, _at in committed]
    if not arrivals.wait_for(ids, timeout=120):
        raise SystemExit("not every event arrived within 120 s")
    return [arrivals.at[event_id] - at for event_id, at in committed], ids, achieved


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook_delivery",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=2_000, help="events for the throughput run (default 2,000)")
    parser.add_argument("--rate", type=float, default=100.0, help="events/s for the latency run (default 100)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency run (default 20)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--writers", type=int, default=4, help="threads writing events (default 4)")
    args = parser.parse_args(argv)
    os.environ.update(PORTICO_WEBHOOKS_ALLOW_LOOPBACK="true", PORTICO_WEBHOOKS_QUEUE=QUEUE)

    arrivals = Arrivals()
    url, server = receive(arrivals)
    with bench_firm(DATABASE) as firm:
        from django.conf import settings

        from core.models import WebhookEndpoint
        from core.webhooks import endpoint_secret_new

        with firm.tenant:
            WebhookEndpoint.objects.create(url=url, secret=endpoint_secret_new())
        with worker(args.concurrency, Path(settings.VAR_DIR) / "bench-worker.log"):
            print(f"throughput: {args.events:,} events...", file=sys.stderr, flush=True)
            per_second, first_ids = throughput(firm.tenant, arrivals, args.events, args.writers)
            print(f"latency: {args.rate:g} events/s for {args.seconds:g} s...", file=sys.stderr, flush=True)
            delays, second_ids, achieved = latency(firm.tenant, arrivals, args.rate, args.seconds, args.writers)
        server.shutdown()
        from core.models import WebhookDelivery

        with firm.tenant:  # the outbox's order (writers run concurrently: not quite the order they started)
            outbox = list(WebhookDelivery.objects.order_by("id").values_list("event__event_id", flat=True))

    in_order = arrivals.order == outbox
    p50, p95, p99 = percentiles([d * 1000 for d in delays])
    ok = p95 <= P95_GOAL_S * 1000 and in_order and arrivals.duplicates == 0
    print(
        f"\nWebhook delivery ({firm.server}, {os.cpu_count()} CPUs, {args.concurrency} worker processes, "
        f"{args.writers} writers, one endpoint)\n"
    )
    rows = [
        ("throughput: events delivered per s", f"{per_second:,.0f}", "", ""),
        ("latency run: events written per s", f"{achieved:,.1f}", f"{args.rate:g}", ""),
        ("change to delivery p50 / p95 / p99 (ms)", f"{p50:.0f} / {p95:.0f} / {p99:.0f}", "p95 <= 1000",
         _verdict(p95 <= P95_GOAL_S * 1000)),
        ("change to delivery max (ms)", f"{max(delays) * 1000:.0f}", "", ""),
        ("events arrived / written", f"{len(arrivals.at):,} / {len(set(first_ids + second_ids)):,}", "", ""),
        ("sent twice", f"{arrivals.duplicates}", "0", _verdict(arrivals.duplicates == 0)),
        ("in the outbox's order", "yes" if in_order else "no", "yes", _verdict(in_order)),
    ]  # fmt: skip
    print(f"{'metric':<44}{'value':>22}   {'goal':<12}result")
    for name, value, goal, verdict in rows:
        print(f"{name:<44}{value:>22}   {goal:<12}{verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
