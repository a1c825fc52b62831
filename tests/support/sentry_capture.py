"""Catching what sentry-sdk would send to Sentry, without Sentry: in this process and from subprocesses.

``CaptureTransport`` is a sentry-sdk ``Transport`` for this process (``sentry_init(...,
transport=CaptureTransport())``). ``SentryIngest`` is a loopback HTTP server that speaks
enough of Sentry's envelope endpoint for the SDK's real HTTP transport: a subprocess given
``SENTRY_DSN=ingest.dsn`` (a worker, the CLI) sends its envelopes there. Both keep the
envelopes as the bytes the SDK serialised, so a test can search everything that left.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport


def _events(payloads: list[bytes]) -> list[dict[str, object]]:
    """The error events (not sessions or client reports) in serialised envelopes."""
    events = []
    for payload in payloads:
        envelope = Envelope.deserialize(payload)
        for item in envelope.items:
            if item.type == "event" and item.payload.json is not None:
                events.append(item.payload.json)
    return events


class CaptureTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[bytes] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.payloads.append(envelope.serialize())

    def flush(self, timeout: float, callback: object = None) -> None:
        return None

    @property
    def raw(self) -> str:
        return b"\n".join(self.payloads).decode(errors="replace")

    def events(self) -> list[dict[str, object]]:
        return _events(self.payloads)


class SentryIngest:
    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        received = self.payloads

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                elif encoding == "br":
                    import brotli  # type: ignore[import-untyped]

                    body = brotli.decompress(body)
                received.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"id": "0" * 32}).encode())

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server.server_address[1]}/1"

    @property
    def raw(self) -> str:
        return b"\n".join(self.payloads).decode(errors="replace")

    def events(self) -> list[dict[str, object]]:
        return _events(self.payloads)

    def wait_for_events(self, count: int, timeout: float = 30.0) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.events()

    def clear(self) -> None:
        self.payloads.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sentry_ingest() -> Iterator[SentryIngest]:
    ingest = SentryIngest()
    try:
        yield ingest
    finally:
        ingest.close()
