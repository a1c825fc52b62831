"""A real HTTP server for the API on a loopback port, in the test's own transaction.

``live_api(firm)`` serves the whole WSGI stack (middleware, tenants, DRF) with
Django's threaded server, whose request threads use the test's database
connection (as Django's LiveServerTestCase does for in-memory SQLite): what
the test made is visible to the server and is rolled back with the test, so
no firm has to be onboarded and committed for it. Requests must therefore come
one at a time (one connection). The firm is chosen by the Host header, as on
its subdomain (``*.localhost`` does not resolve here).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.servers.basehttp import ThreadedWSGIServer
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler, _StaticFilesHandler

from tests.support.firms import Firm


class _SharedConnectionServer(ThreadedWSGIServer):
    def _close_connections(self) -> None:
        pass  # the connection is the test's, inside its transaction: closing it would doom the test's work


class _ServerThread(LiveServerThread):
    server_class = _SharedConnectionServer

    def _create_server(self, connections_override: object = None) -> ThreadedWSGIServer:
        return self.server_class(
            (self.host, self.port),
            QuietWSGIRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )


@dataclass(frozen=True)
class LiveApi:
    origin: str  # http://127.0.0.1:<port>
    host: str  # the firm's Host header


@contextmanager
def live_api(firm: Firm) -> Iterator[LiveApi]:
    # The test client does the same: at the end of a request Django would close a connection it finds in a
    # transaction (here, the test's).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    shared = connections["default"]  # the wrapper itself (django.db.connection is a proxy to this thread's)
    shared.inc_thread_sharing()
    thread = _ServerThread("127.0.0.1", _StaticFilesHandler, connections_override={"default": shared})
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield LiveApi(origin=f"http://127.0.0.1:{thread.port}", host=firm.host)
    finally:
        thread.httpd.shutdown()
        thread.httpd.server_close()
        thread.join()
        shared.dec_thread_sharing()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
