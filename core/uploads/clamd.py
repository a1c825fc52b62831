"""A small client for the ClamAV daemon's INSTREAM command (the one outside service this package talks to).

The PyPI ``clamd`` package has not been released since 2017, so this speaks the
protocol directly; it is short (clamd(8), "INSTREAM"):

* connect to the daemon's Unix socket or TCP host:port;
* send ``zINSTREAM\\0`` (the ``z`` prefix means NUL-terminated commands and replies);
* send the file as chunks, each preceded by its length as a 4-byte big-endian
  integer, then a zero-length chunk to end the stream;
* read the reply up to NUL: ``stream: OK``, ``stream: <signature> FOUND``, or
  ``... ERROR`` (for example ``INSTREAM size limit exceeded. ERROR``).

``PORTICO_CLAMD_SOCKET`` names the daemon: a path (``/run/clamav/clamd.ctl``)
or ``host:port``. Any failure to get a clean answer raises ``ScanUnavailable``,
and the upload is refused: with a scanner configured, nothing unscanned is stored.

"Not scanned" is a verdict of its own (``Verdict.scanned`` false), and the
upload is refused for it too: clamd answers ``OK`` for a file, or the part of
one, that its limits (MaxFileSize, MaxScanSize, MaxRecursion, MaxScanTime) made
it skip, unless ``AlertExceedsMax yes`` makes it report
``Heuristics.Limits.Exceeded.*`` instead; and it ends a stream longer than its
StreamMaxLength with ``INSTREAM size limit exceeded``. The daemon's
configuration this relies on is in the README ("Virus scanning").

``timeout`` bounds the whole exchange (connect, send, verdict), not each socket
call, so a daemon that is stuck or answers a byte at a time costs at most that.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

CHUNK = 64 * 1024


class ScanUnavailable(RuntimeError):
    """The daemon could not be reached or did not give a verdict."""


LIMITS_EXCEEDED = "Heuristics.Limits.Exceeded"  # clamd's name for "a limit stopped the scan" (AlertExceedsMax)
REPLY_LIMIT = 4096  # a verdict is one short line


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""
    scanned: bool = True  # False: the daemon did not scan the whole file, so "clean" cannot be known


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: str | tuple[str, int] = address
    else:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ScanUnavailable(f"PORTICO_CLAMD_SOCKET must be a socket path or host:port, not {address!r}")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    sock.settimeout(timeout)
    try:
        sock.connect(target)
    except OSError as error:
        sock.close()
        raise ScanUnavailable(f"cannot reach clamd at {address}: {error}") from error
    return sock


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("clamd took longer than the scan timeout")
    return left


def _send(sock: socket.socket, data: bytes, deadline: float) -> None:
    sock.settimeout(_remaining(deadline))
    sock.sendall(data)


def _reply(sock: socket.socket, deadline: float | None = None) -> str:
    data = b""
    while not data.endswith(b"\0") and len(data) < REPLY_LIMIT:
        if deadline is not None:
            sock.settimeout(_remaining(deadline))
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def ping(address: str, *, timeout: float = 5.0) -> bool:
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zPING\0")
            return _reply(sock) == "PONG"
    except (OSError, ScanUnavailable):
        return False


def scan_bytes(data: bytes, *, address: str, timeout: float = 30.0) -> Verdict:
    """Stream ``data`` to clamd; a Verdict, or ScanUnavailable when there is no clear answer within ``timeout``."""
    deadline = time.monotonic() + timeout
    try:
        with _connect(address, timeout) as sock:
            _send(sock, b"zINSTREAM\0", deadline)
            try:
                for start in range(0, len(data), CHUNK):
                    chunk = data[start : start + CHUNK]
                    _send(sock, struct.pack("!L", len(chunk)) + chunk, deadline)
                _send(sock, struct.pack("!L", 0), deadline)
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd stops reading a stream over its StreamMaxLength; its reply says so
            answer = _reply(sock, deadline)
    except OSError as error:  # TimeoutError included
        raise ScanUnavailable(f"clamd at {address} failed during the scan: {error}") from error
    return _verdict(answer, address)


def _verdict(answer: str, address: str) -> Verdict:
    if answer == "stream: OK":
        return Verdict(clean=True)
    if answer.endswith("FOUND"):
        signature = answer.removeprefix("stream:").removesuffix("FOUND").strip()
        return Verdict(clean=False, signature=signature, scanned=not signature.startswith(LIMITS_EXCEEDED))
    if answer.endswith("ERROR") and "size limit exceeded" in answer:
        return Verdict(clean=False, scanned=False)
    raise ScanUnavailable(f"clamd at {address} answered {answer!r}")
