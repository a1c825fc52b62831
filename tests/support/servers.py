"""Real servers for tests, started by the test session on free loopback ports.

``moto_server`` is moto in server mode: S3 and KMS over HTTP, enforcing region
rules. Import the fixtures into a test module (or conftest) to use them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - loopback test server
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    process: subprocess.Popen[bytes]

    def reset(self) -> None:
        """Forget every bucket and key (moto's reset API)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310 - loopback test server
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - loopback test server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    port = free_port()
    moto = Path(sys.executable).parent / "moto_server"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{endpoint}/moto-api/")
        yield MotoServer(endpoint_url=endpoint, process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)
