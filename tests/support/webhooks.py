"""A webhook receiver for the tests: a real HTTP server on loopback (``http.server`` in a thread).

It answers from ``answers`` in order (then 200 "ok"), records every request
(headers lower-cased, body) and the ``webhook-id`` of each it accepted, and may
take ``delay`` seconds per request. Deliveries to it are allowed only because
the fixture turns on ``PORTICO_WEBHOOKS_ALLOW_LOOPBACK`` for the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_django import Settings

from tests.support.servers import free_port


@dataclass
class Receiver:
    url: str
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # given in order, then 200
    received: list[tuple[dict[str, str], str]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # webhook-id of each request answered 2xx, in order
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def receiver_start(host: str = "127.0.0.1") -> tuple[Receiver, ThreadingHTTPServer]:
    port = free_port()
    state = Receiver(url=f"http://{host}:{port}/hooks/portico")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            if state.delay:
                time.sleep(state.delay)
            with state.lock:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = state.answers.pop(0) if state.answers else (200, {})
                if 200 <= status < 300:
                    state.accepted.append(self.headers["webhook-id"])
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"busy, try later")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


@pytest.fixture
def receiver(settings: Settings) -> Iterator[Receiver]:
    settings.PORTICO_WEBHOOKS_ALLOW_LOOPBACK = True
    state, server = receiver_start()
    yield state
    server.shutdown()
    server.server_close()
