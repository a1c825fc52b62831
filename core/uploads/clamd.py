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
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

CHUNK = 64 * 1024


class ScanUnavailable(RuntimeError):
    """The daemon could not be reached or did not give a verdict."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""


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


def _reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
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
    """Stream ``data`` to clamd; a Verdict, or ScanUnavailable when there is no clear answer."""
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                chunk = data[start : start + CHUNK]
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            answer = _reply(sock)
    except OSError as error:
        raise ScanUnavailable(f"clamd at {address} failed during the scan: {error}") from error
    if answer.endswith("FOUND"):
        return Verdict(clean=False, signature=answer.removeprefix("stream:").removesuffix("FOUND").strip())
    if answer == "stream: OK":
        return Verdict(clean=True)
    raise ScanUnavailable(f"clamd at {address} answered {answer!r}")
